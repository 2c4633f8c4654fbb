"""Routing by reference kind, as data: the token says what a reply is about."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import answers, sup_reply

if TYPE_CHECKING:
    from .pipeline import Ctx


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
    if identity.subject_ref is not None:
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
        to=identity.sender, now=ctx.now)
    ctx.settle("refused", "unreferenced", reason)


def bounce_address(ctx: Ctx) -> None:
    ctx.settle("ignored", "bounce", "mail to a bounce address that is not a delivery report")


def _hr_digest(ctx: Ctx) -> None:
    from . import hr_reply

    hr_reply.handle(ctx)


ROUTES = {
    "sup": sup_reply.handle,
    "hr_digest": _hr_digest,
    "bounce": bounce_address,
}
