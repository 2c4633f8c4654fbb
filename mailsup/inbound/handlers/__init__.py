"""Routing by reference kind, as data: the token says what a reply is about."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailsup.inbound import autoreply as answers
from mailsup.inbound.handlers import sup as sup_reply

if TYPE_CHECKING:
    from mailsup.inbound.pipeline import Ctx


def unreferenced(ctx: Ctx) -> None:
    """No token and no thread: only a known person ever gets an answer."""
    identity = ctx.identity
    if identity.person is None:
        who = identity.sender or "the sender"
        ctx.settle("refused", "unknown", f"no valid reference, and {who} is not in the directory")
        return
    if ctx.verdict and ctx.verdict.kind != "person":
        ctx.settle("ignored", ctx.verdict.kind, ctx.verdict.reason)
        return
    if identity.bad_token:
        reason = ("the reply-address token has an invalid signature (tampered, or the "
                  "secret was changed since the mail was sent)")
    elif identity.subject_ref is not None:
        reason = (f"only the guessable [SUP {identity.subject_ref}] in the subject; "
                  "a reply must come to the SUP email's reply address")
    else:
        reason = "no reference to a SUP or digest"
    answers.answer(
        ctx.settings, ctx.row, kind="refusal", role="reply_to_sup_email",
        subject=answers.reply_subject(str(ctx.msg.get("Subject", ""))),
        context={"first_name": identity.person.name.split(" ")[0],
                 "subject_ref": identity.subject_ref, "title": "Please reply to the SUP email",
                 "ref": "", "footer": "automatic answer"},
        to=identity.sender, now=ctx.now, unauthenticated=True)
    ctx.settle("refused", "unreferenced", reason)


def bounce_address(ctx: Ctx) -> None:
    """Mail to a signed bounce address that is no DSN: usually an auto-responder
    answering the Return-Path (RFC 3834), which still tells us the developer is away."""
    from mailsup.models import OutboundMessage

    sent = OutboundMessage.get_or_none(OutboundMessage.id == ctx.identity.reference.ident)
    if ctx.verdict and ctx.verdict.kind == "out_of_office" and sent is not None and sent.sup_id:
        sup = sent.sup
        if ctx.identity.person is not None and ctx.identity.person.id == sup.developer_id:
            sup.away = True
            sup.save()
            ctx.sup_id = sup.id
            ctx.settle("ignored", "out_of_office",
                       f"{ctx.verdict.reason}; {sup.reference} marked away (no nag)")
            return
    ctx.settle("ignored", "bounce", "mail to a bounce address that is not a delivery report")


def _hr_digest(ctx: Ctx) -> None:
    from mailsup.inbound.handlers import hr_digest as hr_reply

    hr_reply.handle(ctx)


ROUTES = {
    "sup": sup_reply.handle,
    "hr_digest": _hr_digest,
    "bounce": bounce_address,
}
