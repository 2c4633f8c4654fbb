"""HR email commands as a registry (in the image of Mailman's ``eml_*`` commands).

``REGISTRY`` is the explicit list of commands, one module each; ``help`` is
generated from it. Adding a command: write its module beside these and name
it here.
"""

from __future__ import annotations

from mailsup.inbound.commands.base import CommandContext, help_lines, split_line
from mailsup.inbound.commands.base import run as run_lines
from mailsup.inbound.commands.flag import Flag, Unflag
from mailsup.inbound.commands.help import Help
from mailsup.inbound.commands.note import Note
from mailsup.inbound.commands.reviewed import Reviewed

REGISTRY = (Reviewed(), Note(), Flag(), Unflag(), Help())


def run(ctx: CommandContext, lines: list[str]) -> list[str]:
    """Apply each known command line with the registry; returns the unknown lines."""
    return run_lines(ctx, lines, REGISTRY)


__all__ = ["REGISTRY", "CommandContext", "help_lines", "run", "split_line"]
