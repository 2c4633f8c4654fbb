"""Mail with no valid reference: only a known person ever gets an answer.

A known person may still say they are away here, the bare address being the
natural place for it: ``away until …``, ``away A - B``, ``back``, or an
out-of-office reply with a return date (``inbound.away``).
"""

from __future__ import annotations

from mailsup.inbound import autoreply, away
from mailsup.inbound.ctx import Ctx
from mailsup.inbound.reading import body
from mailsup.outbound import messages
from mailsup.outbound.links import Links


def handle(ctx: Ctx) -> None:
    """No token and no thread: only a known person ever gets an answer."""
    identity = ctx.identity
    if identity.person is None:
        who = identity.sender or "the sender"
        ctx.settle("refused", "unknown", f"no valid reference, and {who} is not in the directory")
        return
    if ctx.verdict and ctx.verdict.kind == "out_of_office":
        away.from_out_of_office(ctx, identity.person)
        ctx.settle("ignored", "out_of_office", ctx.verdict.reason)
        return
    if ctx.verdict and ctx.verdict.kind != "person":
        ctx.settle("ignored", ctx.verdict.kind, ctx.verdict.reason)
        return
    if away.take_command(ctx, identity.person, body.reply_text(ctx.msg), whole=True) is None:
        return
    if identity.bad_token:
        reason = ("the reply-address token has an invalid signature (tampered, or the "
                  "secret was changed since the mail was sent)")
    elif identity.subject_ref is not None:
        reason = (f"only the guessable [SUP {identity.subject_ref}] in the subject; "
                  "a reply must come to the SUP email's reply address")
    else:
        reason = "no reference to a SUP or digest"
    autoreply.answer(
        ctx.settings, ctx.row, kind="refusal",
        message=messages.reply_to_sup_email(identity.person, identity.subject_ref, ctx.subject,
                                             Links.of(ctx.settings)),
        to=identity.sender, now=ctx.now, unauthenticated=True)
    ctx.settle("refused", "unreferenced", reason)
