"""``reviewed`` (every SUP of the digest) or ``reviewed 42 43``."""

from __future__ import annotations

from mailsup import review
from mailsup.inbound.commands.base import CommandContext
from mailsup.models import Sup


class Reviewed:
    name = "reviewed"
    usage = "reviewed [ID ...]"
    help = "mark the SUPs of this digest (or just the ids given) as reviewed"

    def process(self, ctx: CommandContext, args: str) -> None:
        if args.strip():
            sups = [s for s in (ctx.sup(t) for t in args.replace(",", " ").split()) if s]
        else:
            sups = list(Sup.select().where(Sup.id.in_(ctx.digest_sup_ids)).order_by(Sup.id))
            if not sups:
                ctx.errors.append("reviewed: this digest lists no SUPs")
        for sup in sups:
            seen = ctx.digest_versions.get(str(sup.id))
            ctx.changes.append(review.review(sup, ctx.actor, ctx.now, seen))
