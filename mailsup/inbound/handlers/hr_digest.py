"""HR's reply to a digest: one command per line, applied, then confirmed."""

from __future__ import annotations

from mailsup import tokens
from mailsup.inbound import autoreply
from mailsup.inbound.authenticate import may_act_as_hr
from mailsup.inbound.commands import CommandContext, run
from mailsup.inbound.ctx import Ctx
from mailsup.inbound.reading import body, trim
from mailsup.inbound.reading.fields import is_pleasantry
from mailsup.models import Client, Effect
from mailsup.outbound import messages
from mailsup.web.links import Links


def command_lines(text: str) -> list[str]:
    """Only what HR typed above the quoted digest; a sign-off ends the commands."""
    top = trim.strip_signature(trim.trim(text, keep_interleaved=False))
    lines = []
    for line in (raw.strip() for raw in top.splitlines()):
        if is_pleasantry(line):
            if lines:
                break  # "Thanks,\nHana" after the commands is a signature
            continue  # "Hi," before them is a greeting
        if line:
            lines.append(line)
    return lines


def handle(ctx: Ctx) -> None:
    if ctx.verdict and ctx.verdict.kind != "person":
        ctx.settle("ignored", ctx.verdict.kind, ctx.verdict.reason)  # never answer robots
        return
    digest = Effect.get_or_none((Effect.id == ctx.identity.reference.ident)
                                & (Effect.kind == "hr_digest"))
    if digest is None:
        ctx.settle("refused", "hr_commands", "the token names no digest")
        return
    client = Client.get_by_id(digest.data["client"])
    if not may_act_as_hr(ctx.settings, ctx.identity, client):
        ctx.settle("refused", "hr_commands",
                   f"{ctx.identity.sender or '(no From)'} is not the HR worker of "
                   f"{client.slug} or management; commands not applied")
        return
    cctx = CommandContext(ctx.settings, ctx.now, client, ctx.identity.sender,
                          ctx.identity.person, list(digest.data.get("sup_ids", [])),
                          dict(digest.data.get("versions", {})))
    lines = command_lines(body.reply_text(ctx.msg))
    unknown = run(cctx, lines)
    autoreply.answer(
        ctx.settings, ctx.row, kind="command_results",
        message=messages.command_results(client, cctx.changes, cctx.errors, unknown,
                                         not lines, ctx.subject, Links.of(ctx.settings)),
        to=ctx.identity.sender, now=ctx.now, auto_submitted="auto-replied", own=True,
        # Replying to the confirmation works like replying to the digest.
        reply_to=tokens.address_for(ctx.settings, "d", digest.id))
    status = "applied" if cctx.changes else "refused"
    ctx.settle(status, "hr_commands", *cctx.changes, *cctx.errors,
               *(f"unknown command: {line}" for line in unknown))
