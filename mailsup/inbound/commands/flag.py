"""``flag 42 reason`` and ``unflag 42``."""

from __future__ import annotations

from mailsup import review
from mailsup.inbound.commands.base import CommandContext


class Flag:
    name = "flag"
    usage = "flag ID [REASON]"
    help = "flag a SUP for follow-up (HR-only)"

    def process(self, ctx: CommandContext, args: str) -> None:
        ident, _, reason = args.strip().partition(" ")
        sup = ctx.sup(ident) if ident else None
        if not ident:
            ctx.errors.append("flag: which SUP? e.g. flag 42 missed the sprint goal")
        if sup is not None:
            ctx.changes.append(review.flag(sup, ctx.actor_email, reason.strip(" :"), ctx.now))


class Unflag:
    name = "unflag"
    usage = "unflag ID"
    help = "remove the flags of a SUP"

    def process(self, ctx: CommandContext, args: str) -> None:
        for token in args.replace(",", " ").split() or [""]:
            sup = ctx.sup(token) if token else None
            if not token:
                ctx.errors.append("unflag: which SUP? e.g. unflag 42")
            if sup is not None:
                ctx.changes.append(review.unflag(sup))
