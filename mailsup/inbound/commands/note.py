"""``note 42: text`` — an HR-only note on a SUP."""

from __future__ import annotations

from mailsup import review
from mailsup.inbound.commands.base import CommandContext


class Note:
    name = "note"
    usage = "note ID: TEXT"
    help = "add an HR-only note to a SUP"

    def process(self, ctx: CommandContext, args: str) -> None:
        ident, sep, text = args.partition(":")
        if not sep:
            ident, _, text = args.partition(" ")
        if not text.strip():
            ctx.errors.append(f"note {args}: write the note after the id, e.g. note 42: text")
            return
        sup = ctx.sup(ident)
        if sup is not None:
            ctx.changes.append(review.add_note(sup, ctx.actor_email, text.strip(), ctx.now))
