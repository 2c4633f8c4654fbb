"""``help`` — the command list, generated from the registry."""

from __future__ import annotations

from mailsup.inbound.commands.base import CommandContext, help_lines


class Help:
    name = "help"
    usage = "help"
    help = "this list of commands"

    def process(self, ctx: CommandContext, args: str) -> None:
        ctx.changes.append("Commands (one per line, case-insensitive):")
        ctx.changes.extend("  " + line for line in help_lines(ctx.commands))
