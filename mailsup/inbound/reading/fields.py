"""The fields a SUP reply is read into, and the readers of its kinds of line.

``sup_reply`` finds the pieces of new text; ``FieldReader`` turns them into
fields. The words it recognises come from ``words``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from mailsup.inbound.reading import words
from mailsup.models import SCHEDULING_VALUES

__all__ = [
    "CHECKBOX", "PLAN_MISSING", "FieldReader", "KeyLine", "ParsedReply", "TicketRef", "is_none",
    "is_pleasantry", "is_sign_off", "key_line", "resolve_repo", "resolve_ticket",
    "scheduling_value", "ticket_refs",
]

_KEY_WORDS = "|".join(re.escape(w) for w in sorted(
    (w for w in words.LABELS if w != "comment"), key=len, reverse=True))
# "plan: …", "Plan - …", "Plan = …", "Plan (required): …", "comment acme/api: …".
_KEY = re.compile(
    rf"\s*[*_]*(?P<key>{_KEY_WORDS}"
    r"|comment(?:\s+on)?(?:\s+(?P<repo>[\w.\-]+(?:/[\w.\-]+)?))?)[*_]*"
    r"(?:\s*\([^)]*\))?\s*(?:[:=]|[-–—](?=\s|$))\s*(?P<value>.*)$",
    re.IGNORECASE,
)
_REF = re.compile(r"(?<![\w#/])(?P<repo>[A-Za-z0-9][\w.\-]*(?:/[\w.\-]+)?)?#(?P<number>\d+)\b")
# A trailing name must be capitalised, so "Best effort" in a plan is not a sign-off.
_SIGN_OFF = re.compile(
    "(?:" + "|".join(re.escape(w) for w in sorted(words.SIGN_OFFS, key=len, reverse=True))
    + r")\s*[,.!]*(?:\s*(?-i:[A-Z])\w*\s*[,.!]*)?$",
    re.IGNORECASE,
)
_PLEASANTRY = re.compile(
    "(?:" + "|".join(re.escape(w) for w in words.PLEASANTRIES)
    + r"|(?:please )?(?:see )?(?:my )?(?:answers |replies |notes )?(?:are )?(?:inline|below))"
    r"\s*[,.!]*$", re.IGNORECASE)
CHECKBOX = re.compile(r"(?:[-*]\s+)?\[(?P<mark>[^\]\n]{0,12})\]\s*(?P<ref>[\w./\-]*#\d+)")
_SPACES = re.compile(r"\s+")
PLAN_MISSING = words.PLAN_MISSING


@dataclass
class ParsedReply:
    plan: str | None = None
    scheduling: str | None = None
    blockers: str | None = None
    repo_comments: dict[str, str] = field(default_factory=dict)
    planned_tickets: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.plan) and not self.problems

    def as_fields(self) -> dict:
        """The storable fields (what a receipt shows and a SUP keeps)."""
        data = asdict(self)
        del data["problems"], data["unread"]
        return data


@dataclass(frozen=True)
class KeyLine:
    key: str  # plan | scheduling | blockers | done | working | comment
    value: str
    repo: str | None = None


@dataclass(frozen=True)
class TicketRef:
    text: str  # as typed, for messages
    repo: str | None
    number: int


def key_line(text: str) -> KeyLine | None:
    match = _KEY.match(text)
    if match is None:
        return None
    key = words.LABELS[_SPACES.sub(" ", match.group("key")).split(" ")[0].lower()]
    value = match.group("value").strip()
    if value.strip(" .…") == "" and value:
        return None  # "plan: ..." is the template's own example, not an answer
    if key in ("done", "working") and not _REF.search(value):
        return None  # "Done: the migration" is prose, not a ticket mark
    return KeyLine(key, value, match.group("repo"))


def ticket_refs(text: str) -> list[TicketRef]:
    return [TicketRef(m.group(), m.group("repo"), int(m.group("number")))
            for m in _REF.finditer(text)]


def _short(repos: list[str]) -> str:
    return short_name(repos[0]) if repos else "api"


def short_name(full: str) -> str:
    return full.rsplit("/", 1)[-1]


def resolve_ticket(ref: TicketRef, assigned: list[dict]) -> tuple[dict | None, str | None]:
    """The assigned ticket a reference names, or a problem saying why there is none."""
    hits = [t for t in assigned if int(t["number"]) == ref.number and (
        ref.repo is None or ref.repo.lower() in (t["repo"].lower(), short_name(t["repo"]).lower()))]
    if len(hits) == 1:
        return hits[0], None
    if hits:
        options = ", ".join(f"{short_name(t['repo'])}#{t['number']}" for t in hits)
        return None, f'ambiguous ticket "{ref.text}": say which repository ({options})'
    return None, f'unknown ticket "{ref.text}": not among your assigned tickets'


def resolve_repo(name: str, repos: list[str]) -> str | None:
    wanted = name.strip().lower()
    exact = [r for r in repos if r.lower() == wanted]
    short = [r for r in repos if short_name(r).lower() == wanted]
    return (exact or short)[0] if len(exact) == 1 or (not exact and len(short) == 1) else None


def scheduling_value(text: str) -> str | None:
    """One of SCHEDULING_VALUES for what was written, or None if it is not one."""
    typed = _SPACES.sub(" ", text.strip().lower().replace("_", " ")).strip(" .!,;")
    if not typed:
        return None
    candidates = [typed, re.split(r"\s*[,;(]\s*|\s+[-–—]\s+|\s+but\s+", typed)[0].strip(" .!")]
    for candidate in candidates:
        for form in (candidate, candidate.replace("-", " ")):
            if form in words.SCHEDULING:
                return words.SCHEDULING[form]
    return None


def is_none(text: str) -> bool:
    return _SPACES.sub(" ", text.strip().lower()).strip(" .!") in words.NONE_WORDS


def is_sign_off(line: str) -> bool:
    return _SIGN_OFF.match(line.strip()) is not None


def is_pleasantry(line: str) -> bool:
    return _PLEASANTRY.match(line.strip()) is not None or is_sign_off(line)


# --------------------------------------------------------------------------
# Assembling fields from the pieces of new text


class FieldReader:
    """Collects fields from the segments the parser found; the last word on a ticket wins."""

    def __init__(self, assigned: list[dict], repos: list[str]) -> None:
        self.assigned, self.repos = assigned, repos
        self.result = ParsedReply()
        self.plans: list[str] = []
        self.blockers: list[str] = []
        self.schedulings: list[str] = []
        self.tickets: dict[tuple[str, int], dict] = {}

    def read(self, kind: str, section: tuple | None, body: list[str]) -> None:
        """``kind``: checkbox | free (outside the original) | loose | answer (to ``section``)."""
        if kind == "checkbox":
            self._checkbox(body[0])
            return
        loose: list[str] = []
        pending: KeyLine | None = None
        for text in body:
            key = key_line(text)
            if key is not None:
                self._flush_key(pending)
                pending = key if key.key in ("plan", "blockers", "comment") else None
                if pending is None:
                    self._apply_key(key)
            elif pending is not None and (text or not pending.value):
                if text:
                    pending = KeyLine(pending.key, f"{pending.value}\n{text}".strip(), pending.repo)
            else:
                self._flush_key(pending)
                pending = None
                loose.append(text)
        self._flush_key(pending)
        self._read_loose(kind, section, loose)

    def _read_loose(self, kind: str, section, loose: list[str]) -> None:
        loose = [t for t in loose if t]
        if kind != "answer":
            self.result.unread.extend(t for t in loose if not is_pleasantry(t))
        elif loose:
            self._apply_key(KeyLine(section[0], "\n".join(loose), section[1]))

    def _flush_key(self, key: KeyLine | None) -> None:
        if key is not None:
            self._apply_key(key)

    def _apply_key(self, key: KeyLine) -> None:
        value = key.value.strip()
        if key.key == "plan":
            if value:
                self.plans.append(value)
        elif key.key == "blockers":
            self.blockers.append(value)
        elif key.key == "scheduling":
            self._scheduling(value)
        elif key.key in ("done", "working"):
            for ref in ticket_refs(value):
                self._ticket(ref, key.key == "done")
        elif key.key == "comment":
            self._comment(key.repo, value)

    def _scheduling(self, value: str) -> None:
        if not value:
            return
        normal = scheduling_value(value) or scheduling_value(value.split("\n")[0])
        if normal is None:
            self.result.problems.append(
                f'unknown scheduling value "{value.splitlines()[0]}"; use one of: '
                + ", ".join(SCHEDULING_VALUES))
        elif normal not in self.schedulings:
            self.schedulings.append(normal)

    def _comment(self, repo: str | None, value: str) -> None:
        if not value:
            return
        full = resolve_repo(repo, self.repos) if repo else (
            self.repos[0] if len(self.repos) == 1 else None)
        if full is None:
            named = f'unknown repository "{repo}"' if repo else "a comment needs a repository"
            self.result.problems.append(f'{named} (e.g. "comment {_short(self.repos)}: …"); '
                                        "use one of: " + ", ".join(self.repos))
            return
        old = self.result.repo_comments.get(full)
        self.result.repo_comments[full] = f"{old}\n{value}" if old else value

    def _checkbox(self, text: str) -> None:
        match = CHECKBOX.match(text)
        mark = match.group("mark").strip().lower()
        refs = ticket_refs(match.group("ref"))
        if not mark or not refs:
            return
        if mark in words.DONE_MARKS or mark in words.WORKING_MARKS:
            self._ticket(refs[0], mark in words.DONE_MARKS)
        else:
            self.result.problems.append(
                f'unknown mark "[{match.group("mark")}]" on {match.group("ref")}: use [x] for '
                "expect done or [~] for working on it")

    def _ticket(self, ref: TicketRef, done: bool) -> None:
        ticket, problem = resolve_ticket(ref, self.assigned)
        if problem:
            if problem not in self.result.problems:
                self.result.problems.append(problem)
            return
        key = (ticket["repo"], int(ticket["number"]))
        self.tickets.pop(key, None)  # the last mark wins; order follows it
        self.tickets[key] = {"repo": ticket["repo"], "number": int(ticket["number"]),
                             "title": ticket.get("title", ""), "expect_done": done}

    def finish(self) -> ParsedReply:
        result = self.result
        result.plan = "\n".join(self.plans).strip() or None
        blockers = [b for b in self.blockers if not is_none(b)]
        result.blockers = "\n".join(blockers).strip() or None
        if len(self.schedulings) > 1:
            result.problems.append("more than one scheduling value given ("
                                   + ", ".join(self.schedulings) + "); give one")
        result.scheduling = self.schedulings[-1] if self.schedulings else None
        result.planned_tickets = list(self.tickets.values())
        if result.plan is None:
            result.problems.append(PLAN_MISSING)
        return result
