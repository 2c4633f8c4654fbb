"""What every HR email command gets and how a line becomes a command call.

Each command is a small object with a ``name``, a ``usage``, a one-line
``help`` and ``process(ctx, args)`` that records what changed (or why not) on
the context. ``run`` is given the registry, so ``help`` is generated from it
and a new command documents itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from mailsup.config import Settings
from mailsup.inbound.reading import words
from mailsup.models import Client, Person, Sup

_SUP_ID = re.compile(r"^(?:sup\s*)?#?(\d{1,12})$", re.IGNORECASE)


@dataclass
class CommandContext:
    settings: Settings
    now: datetime
    client: Client
    actor_email: str
    actor: Person | None
    digest_sup_ids: list[int]
    digest_versions: dict[str, str] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    commands: tuple[Command, ...] = ()  # the registry this line was run with (for help)

    def sup(self, token: str) -> Sup | None:
        """A SUP of this client by id, or None with the reason recorded."""
        match = _SUP_ID.match(token.strip().rstrip(":,"))
        if not match:
            self.errors.append(f"{token!r} is not a SUP id")
            return None
        sup = Sup.get_or_none(Sup.id == int(match.group(1)))
        if sup is None or sup.client_id != self.client.id:
            self.errors.append(f"SUP {match.group(1)} is not a SUP of {self.client.name}")
            return None
        return sup


class Command(Protocol):
    name: str
    help: str
    usage: str

    def process(self, ctx: CommandContext, args: str) -> None: ...


def help_lines(commands) -> list[str]:
    return [f"{c.usage:<24} {c.help}" for c in sorted(commands, key=lambda c: c.name)]


# Commands whose arguments are SUP ids or nothing: what follows a pleasantry there
# is manners ("Reviewed, thanks Hana!"), not arguments.
_ID_ONLY = {"reviewed", "unflag", "help"}
_MANNERS = re.compile(
    r"[\s,;:.!\-–—]*\b(?:" + "|".join(
        re.escape(w) for w in sorted({*words.SIGN_OFFS, *words.PLEASANTRIES, "thank you very much",
                                      "all", "everything", "please"}, key=len, reverse=True)
        if w[:1].isalnum()) + r")\b.*$", re.IGNORECASE)


def split_line(line: str) -> tuple[str, str]:
    """(command name, its arguments), read leniently (design §5): "Reviewed, thanks!",
    "reviewed." and "All reviewed" are ``reviewed``; "reviewed 42, 43." names 42 and 43."""
    line = line.strip().lstrip("-*• ")
    if line.lower().startswith("all ") and line[4:].strip().lower().startswith("reviewed"):
        line = line[4:].strip()
    word, _, rest = line.partition(" ")
    name = word.lower().strip(".,!;:")
    rest = rest.strip()
    if name in _ID_ONLY:
        rest = _MANNERS.sub("", f" {rest}").strip(" ,;:.!-–—")
    return name, rest


def run(ctx: CommandContext, lines: list[str], commands) -> list[str]:
    """Apply each known command line; returns the unknown lines."""
    ctx.commands = tuple(commands)
    by_name = {c.name: c for c in ctx.commands}
    unknown = []
    for line in lines:
        name, args = split_line(line)
        command = by_name.get(name)
        if command is None:
            unknown.append(line.strip())
            continue
        command.process(ctx, args)
    return unknown
