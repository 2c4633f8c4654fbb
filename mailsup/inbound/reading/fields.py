"""The readers of each kind of line a person types into a SUP reply.

``sup_reply`` finds the pieces of new text; ``reader.FieldReader`` assembles
fields from them with the readers here. Every word they recognise comes from
``words``; this module only says how a line is shaped: a label and its value,
a scheduling value and its note, a none-word, a ticket and its mark.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from mailsup.inbound.reading import words
from mailsup.models import SCHEDULING_VALUES

__all__ = [
    "CHECKBOX", "PLAN_MISSING", "KeyLine", "ParsedReply", "TicketMark", "TicketRef", "Unclear",
    "is_hr_command", "is_no_blocker_line", "is_none", "is_pleasantry", "is_sign_off",
    "key_line", "one_edit", "resolve_repo", "resolve_ticket", "same_as_before",
    "scheduling_of", "scheduling_value", "ticket_mark", "ticket_refs",
]

PLAN_MISSING = words.PLAN_MISSING
STORED_FIELDS = ("plan", "scheduling", "scheduling_note", "blockers", "repo_comments",
                 "planned_tickets", "comment")

_SPACES = re.compile(r"\s+")
# "Plan: …", "*Plan:* …", "- Plan - …", "Plan (required): …", "comment on acme/api: …".
_LABEL_LINE = re.compile(
    r"\s*(?:[-•*]\s+)?[*_]*\s*(?P<label>[^\W\d_][\w/'’.\- ]{0,40}?)\s*[*_]*"
    r"(?:\s*\([^)]*\))?\s*[*_]*\s*(?:[:=：]|[-–—](?=\s|$))[*_]*\s*(?P<value>.*)$")
_REF = re.compile(r"(?<![\w#/])(?P<repo>[A-Za-z0-9][\w.\-]*(?:/[\w.\-]+)?)?#(?P<number>\d+)\b")
_REFS_START = re.compile(
    r"\s*(?P<refs>(?:[A-Za-z0-9][\w.\-]*(?:/[\w.\-]+)?)?#\d+"
    r"(?:\s*(?:,|;|&|\+|and|und|et|y|en|e)\s*(?:[A-Za-z0-9][\w.\-]*(?:/[\w.\-]+)?)?#\d+)*)\b"
    r"(?P<rest>.*)$", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*•◦·▪]\s+)+")
# A trailing name must be capitalised, so "Best effort" in a plan is not a sign-off.
_SIGN_OFF = re.compile(
    "(?:" + "|".join(re.escape(w) for w in sorted(words.SIGN_OFFS, key=len, reverse=True))
    + r")\s*[,.!]*(?:\s*(?-i:[A-Z])\w*\s*[,.!]*)?$",
    re.IGNORECASE,
)
_PLEASANTRY = re.compile(
    "(?:" + "|".join(re.escape(w) for w in words.PLEASANTRIES)
    + r"|(?:please )?(?:see )?(?:my )?(?:answers |replies |notes )?(?:are )?(?:inline|below))"
    r"\s*[,.!:]*$", re.IGNORECASE)
CHECKBOX = re.compile(r"(?:[-*]\s+)?\[(?P<mark>[^\]\n]{0,12})\]\s*(?P<ref>[\w./\-]*#\d+)")
_BOX = re.compile(r"\[(?P<mark>[^\]\n]{0,12})\]\s*")
_HR_COMMAND = re.compile(
    r"\s*(?:reviewed(?:[\s,]+#?\d+)*|(?:un)?flag\s+#?\d+.*|note\s+#?\d+\s*:.*)\s*[.!]*$",
    re.IGNORECASE)
_NOTE_EDGES = " \t-–—:;,.()[]"


@dataclass(frozen=True)
class Unclear:
    """A typed line that was not understood, and a sentence saying how to fix it."""

    line: str
    problem: str


@dataclass
class ParsedReply:
    plan: str | None = None
    scheduling: str | None = None
    scheduling_note: str | None = None
    blockers: str | None = None
    repo_comments: dict[str, str] = field(default_factory=dict)
    planned_tickets: list[dict] = field(default_factory=list)
    comment: str | None = None
    # Each problem says what was not understood and how to fix just that.
    problems: list[str] = field(default_factory=list)
    unclear: list[Unclear] = field(default_factory=list)
    # What the reader did that the person should know ("took your text as the plan").
    notes: list[str] = field(default_factory=list)
    # The fields this reply gave: a later reply replaces these and keeps the others.
    given: list[str] = field(default_factory=list)
    # Every typed line and where it went (plan, comment, unclear, …): nothing goes nowhere.
    placed: list[tuple[str, str]] = field(default_factory=list)
    plan_source: str | None = None  # label | text | previous | scheduling
    typed: bool = False  # whether the reply had any text of the person's own

    @property
    def ok(self) -> bool:
        """A reply with a plan is applied, whatever else was unclear (design §5)."""
        return bool(self.plan)

    @property
    def unread(self) -> list[str]:
        return [u.line for u in self.unclear]

    def as_fields(self) -> dict:
        """The storable fields (what a receipt shows and a SUP keeps)."""
        data = asdict(self)
        return {key: data[key] for key in STORED_FIELDS}


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


@dataclass(frozen=True)
class TicketMark:
    refs: tuple[TicketRef, ...]
    done: bool | None  # None: a mark that means nothing we know (``problem`` says so)
    problem: str | None = None


# --------------------------------------------------------------------------
# Words: case, spacing and one typo


def one_edit(typed: str, word: str) -> bool:
    """Whether ``typed`` is ``word`` with one letter added, dropped, changed or swapped."""
    if typed == word or abs(len(typed) - len(word)) > 1:
        return typed == word
    if len(typed) == len(word):
        diff = [i for i, (a, b) in enumerate(zip(typed, word, strict=True)) if a != b]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and typed[diff[0]] == word[diff[1]]
                                  and typed[diff[1]] == word[diff[0]])
    short, long_ = (typed, word) if len(typed) < len(word) else (word, typed)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def _near(typed: str, vocabulary, min_len: int) -> str | None:
    """The one vocabulary entry one edit from ``typed`` (None when none or several)."""
    if len(typed) < min_len - 1:
        return None
    hits = {w for w in vocabulary if len(w) >= min_len and one_edit(typed, w)}
    return hits.pop() if len(hits) == 1 else None


def _plain(text: str) -> str:
    """Comparison form: lower case, one space, no bullet, markdown or edge punctuation."""
    text = _BULLET.sub("", text.replace("\xa0", " ").replace("’", "'"))
    text = text.replace("*", " ").replace("_", " ")
    return _SPACES.sub(" ", text).strip(" .!?,;:").lower()


# --------------------------------------------------------------------------
# Labels


def _label(raw: str) -> tuple[str, str | None] | None:
    """(field, repo) a label names: exact, "comment <repo>", or one typo away."""
    parts = _plain(raw).split(" ")
    text = " ".join(parts)
    if text in words.LABELS:
        return words.LABELS[text], None
    head = parts[0]
    if len(parts) > 1 and (words.LABELS.get(head) == "comment" or words.LABELS.get(
            _near(head, words.LABELS, 5) or "") == "comment"):
        rest = parts[1:]
        if rest[0] in words.COMMENT_LINKS:
            rest = rest[1:]
        if len(rest) == 1:
            return "comment", rest[0]
    near = _near(text, words.LABELS, 4)
    return (words.LABELS[near], None) if near else None


def key_line(text: str) -> KeyLine | None:
    """A labelled line ("plan: …", "*Blockers:* none", "Planung - …"), or None."""
    match = _LABEL_LINE.match(text)
    if match is None:
        return None
    found = _label(match.group("label"))
    if found is None:
        return None
    key, repo = found
    value = match.group("value").strip()
    if text.lstrip().startswith(("*", "_")):
        value = value.rstrip("*_ ")  # "*Plan: finish it*"
    if value.strip(" .…") == "" and value:
        return None  # "plan: ..." is the template's own example, not an answer
    if key in ("done", "working") and value and not _REF.search(value):
        return None  # "Done: the migration" is prose, not a ticket mark
    return KeyLine(key, value, repo)


# --------------------------------------------------------------------------
# Tickets


def ticket_refs(text: str) -> list[TicketRef]:
    return [TicketRef(m.group(), m.group("repo"), int(m.group("number")))
            for m in _REF.finditer(text)]


def _status(rest: str, boxed: bool = False) -> bool | None:
    """True/False when ``rest`` (what follows a ticket) ends in a done/working phrase.

    After a title the phrase needs a dash, colon or bracket before it ("Add
    endpoint - done"), unless it is a symbol or the line is the SUP's own box line.
    """
    tail = _plain(rest.replace("(", " ").replace(")", " "))
    for phrases, done in ((words.WORKING_PHRASES, False), (words.DONE_PHRASES, True)):
        for phrase in sorted(phrases, key=len, reverse=True):
            if tail == phrase or (tail.endswith(" " + phrase) and (
                    boxed or not phrase[0].isalnum() or _separated(rest, phrase))):
                return done
    return None


def _separated(rest: str, phrase: str) -> bool:
    """The phrase stands after a dash, colon, bracket or comma, not inside a title."""
    low = rest.lower().replace("’", "'").rstrip(" .!)")
    before = low[:len(low) - len(phrase)].rstrip()
    return bool(before) and before[-1] in "-–—:=,(;|"


def ticket_mark(text: str) -> TicketMark | None:
    """A line that marks tickets: "[x] api#130", "✓ portal#60", "web#45 - still working on it"."""
    line = _BULLET.sub("", text.strip())
    lead: str | None = None
    box = _BOX.match(line)
    if box:
        lead, line = box.group("mark").strip().lower(), line[box.end():]
    else:
        first, _, after = line.partition(" ")
        if first.lower() in words.BARE_MARKS and _REFS_START.match(after):
            lead, line = first.lower(), after
    refs_match = _REFS_START.match(line)
    if refs_match is None:
        return None
    refs = tuple(ticket_refs(refs_match.group("refs")))
    status = _status(refs_match.group("rest"), boxed=box is not None)
    if lead:
        if lead in words.BARE_MARKS:
            return TicketMark(refs, words.BARE_MARKS[lead] == "done")
        if lead in words.DONE_MARKS or lead in words.WORKING_MARKS:
            return TicketMark(refs, lead in words.DONE_MARKS)
        return TicketMark(refs, None, f'unknown mark "[{box.group("mark")}]" on '
                          f'{refs_match.group("refs")}: use [x] for expect done or [~] '
                          "for working on it")
    if status is None:
        return None  # "[ ] api#130 …" unchanged, or a ticket named in prose
    return TicketMark(refs, status)


def short_name(full: str) -> str:
    return full.rsplit("/", 1)[-1]


def ticket_labels(assigned: list[dict]) -> str:
    return ", ".join(f"{short_name(t['repo'])}#{t['number']}" for t in assigned) or "none"


def resolve_ticket(ref: TicketRef, assigned: list[dict]) -> tuple[dict | None, str | None]:
    """The assigned ticket a reference names, or a problem saying why there is none."""
    hits = [t for t in assigned if int(t["number"]) == ref.number and (
        ref.repo is None or ref.repo.lower() in (t["repo"].lower(), short_name(t["repo"]).lower()))]
    if len(hits) == 1:
        return hits[0], None
    if hits:
        return None, (f'ambiguous ticket "{ref.text}": say which repository '
                      f"({ticket_labels(hits)}), e.g. \"done: {ticket_labels(hits[:1])}\"")
    return None, (f'unknown ticket "{ref.text}": not among your assigned tickets '
                  f"({ticket_labels(assigned)}); mark one of those, e.g. \"done: "
                  f'{ticket_labels(assigned[:1]) if assigned else "api#130"}"')


def resolve_repo(name: str, repos: list[str]) -> str | None:
    wanted = name.strip().lower()
    exact = [r for r in repos if r.lower() == wanted]
    short = [r for r in repos if short_name(r).lower() == wanted]
    return (exact or short)[0] if len(exact) == 1 or (not exact and len(short) == 1) else None


# --------------------------------------------------------------------------
# Scheduling


def _phrases() -> list[tuple[list[str], str, bool]]:
    """(words, value, is_hint) for every scheduling phrase, longest first."""
    found = [(w.split(" "), value, False) for w, value in words.SCHEDULING.items()]
    found += [(w.split(" "), value, True) for value, hints in words.SCHEDULING_HINTS.items()
              for w in hints]
    return sorted(found, key=lambda item: len(item[0]), reverse=True)


_PHRASES = _phrases()
_FILLERS = set(words.SCHEDULING_FILLERS)
_SCHED_TOKEN = re.compile(r"[^\s(),;:]+|[(),;:]")
_PUNCT_TOKENS = set("(),;:-–—")


def _tokens(text: str) -> list[tuple[str, int]]:
    """(lower-case token, where it starts in ``text``); brackets and commas are tokens."""
    out = []
    for match in _SCHED_TOKEN.finditer(text.replace("\xa0", " ").replace("’", "'")):
        token = match.group().strip(".!*_").lower()
        if token and not (not out and token in "-•*"):  # a leading bullet is no word
            out.append((token, match.start()))
    return out


# Each phrase with its length and its words joined, worked out once, not per line.
_PHRASE_FORMS = [(phrase, len(phrase), " ".join(phrase), value, hint)
                 for phrase, value, hint in _PHRASES]


def _phrase_at(tokens: list[str], start: int, fuzzy: bool):
    """The first phrase of ``_PHRASES`` that the tokens from ``start`` spell (with
    ``fuzzy``, one letter off); a line is asked this for a few starts and 225 phrases."""
    dashless = [t.replace("-", " ") for t in tokens[start:]]
    typed: dict[int, str] = {}  # the next n tokens joined, by n
    for phrase, size, joined, value, hint in _PHRASE_FORMS:
        if start + size > len(tokens):
            continue
        if dashless[:size] == phrase or tokens[start:start + size] == phrase:
            return value, size, hint
        if fuzzy and len(joined) >= 5:
            got = typed.get(size)
            if got is None:
                got = typed[size] = " ".join(tokens[start:start + size])
            if abs(len(got) - len(joined)) <= 1 and one_edit(got, joined):
                return value, size, hint
    return None


def scheduling_of(text: str, strict: bool = False) -> tuple[str, str | None] | None:
    """(value, note) for "off sick", "part day (dentist at 15:00)", "leaving at 14:00".

    ``strict`` is for a line with no label: the value must be the whole line
    (fillers such as "I'm … today" aside) or be followed by a bracket, dash or
    comma, so a plan line that merely starts with "Part of …" stays a plan.
    """
    spans = _tokens(text)
    tokens = [t for t, _ in spans]
    for fuzzy in (False, True):
        for start in range(min(len(tokens), 4)):
            if any(t not in _FILLERS for t in tokens[:start]):
                break
            hit = _phrase_at(tokens, start, fuzzy)
            if hit is None:
                continue
            value, length, hint = hit
            rest = tokens[start + length:]
            if strict and not _note_allowed(rest, hint):
                return None
            from_token = start if hint else start + length
            if from_token >= len(tokens) or all(t in _FILLERS or t in _PUNCT_TOKENS
                                                for t in tokens[from_token:]):
                return value, None
            note = text[spans[from_token][1]:].strip(_NOTE_EDGES).rstrip("*_ ")
            return value, note or None
    return None


def _note_allowed(rest: list[str], hint: bool) -> bool:
    if hint:
        return len(rest) <= 6
    return not rest or rest[0] in ("(", "-", "–", "—", ",", ";") or all(
        t in _FILLERS or t in _PUNCT_TOKENS for t in rest)


def scheduling_value(text: str) -> str | None:
    """One of SCHEDULING_VALUES for what was written, or None if it is not one."""
    found = scheduling_of(text)
    return found[0] if found else None


def scheduling_problem(text: str) -> str:
    return (f'unknown scheduling value "{text.strip()}"; use one of: '
            + ", ".join(SCHEDULING_VALUES) + ' (e.g. "scheduling: part day (dentist at 15:00)")')


# --------------------------------------------------------------------------
# None-words, "same as yesterday", commands and pleasantries


def is_none(text: str) -> bool:
    """ "none", "Nothing at the moment", "* none", "n/a", "-": no blockers."""
    plain = _plain(re.sub(r"[,.;!]+", " ", text)).strip()
    if text.strip() in ("-", "--", "—", "–"):
        return True
    if plain in words.NONE_WORDS:
        return True
    for tail in words.NONE_TAILS:
        if plain.endswith(" " + tail) and plain[:-len(tail) - 1].strip() in words.NONE_WORDS:
            return True
    return False


def is_no_blocker_line(text: str) -> bool:
    plain = _plain(re.sub(r"[,.;!]+", " ", text)).strip()
    return plain in words.NO_BLOCKER_LINES or any(
        plain == f"{line} {tail}" for line in words.NO_BLOCKER_LINES for tail in words.NONE_TAILS
    ) or _blocked_by(text) == "none"


def is_blocker_line(text: str) -> bool:
    return _blocked_by(text) == "some"


def _blocked_by(text: str) -> str | None:
    """ "some" for "Blocked on the staging database"; "none" for "blocked by nothing"
    (no blocker, and nothing to escalate); None when the line says neither."""
    plain = _plain(text)
    for start in words.BLOCKER_STARTS:
        if plain.startswith(start + " "):
            return "none" if is_none(plain[len(start):]) else "some"
    return None


# A line of prose may say several things, one per sentence, and a blocker clause
# may follow a comma: "Off sick today, sorry. No blockers." and "… today I pair with
# Bob on checkout, blocked by staging being down".
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
_BLOCKER_CLAUSE = re.compile(
    r"(?:^|,\s*)(?:(?:and|but)\s+)?(?:(?:still|currently|now)\s+)?(?=(?:"
    + "|".join(re.escape(w) for w in words.BLOCKER_STARTS) + r")\s|blocked\s*:)",
    re.IGNORECASE)


def clauses(text: str) -> list[str]:
    """The sentences of one line, with a ", blocked by …" clause split off its sentence."""
    parts = []
    for sentence in _SENTENCE_END.split(text.strip()):
        parts += [p.strip() for p in _BLOCKER_CLAUSE.split(sentence) if p.strip()]
    return parts


def same_as_before(text: str) -> tuple[bool, str]:
    """(True, what follows) for "same as yesterday" / "Same as before, plus the deploy"."""
    plain = _plain(text)
    for phrase in sorted(words.SAME_AS_BEFORE, key=len, reverse=True):
        if plain == phrase:
            return True, ""
        if plain.startswith(phrase) and plain[len(phrase):len(phrase) + 1] in ",;-–—:(":
            cut = text.lower().find(phrase) + len(phrase)
            return True, text[cut:].strip(_NOTE_EDGES)
    return False, ""


def is_hr_command(line: str) -> bool:
    return _HR_COMMAND.match(line) is not None


def is_sign_off(line: str) -> bool:
    return _SIGN_OFF.match(line.strip()) is not None


def is_pleasantry(line: str) -> bool:
    return _PLEASANTRY.match(line.strip()) is not None or is_sign_off(line)


_GREETING_LINE = re.compile(
    "(?:" + "|".join(re.escape(w) for w in words.GREETINGS) + r")\b[^:#]{0,30}$",
    re.IGNORECASE)
_RESOLVED = re.compile(
    r"^(?:(?:" + "|".join(re.escape(w) for w in words.RESOLVED_LEADS) + r")\s+)*(?:"
    + "|".join(re.escape(w) for w in sorted(words.RESOLVED_WORDS, key=len, reverse=True))
    + r")\b", re.IGNORECASE)
_NEGATION = re.compile(
    r"(?:\b(?:" + "|".join(re.escape(w) for w in words.NEGATIONS if w != "n't")
    + r")\b|n't\b)", re.IGNORECASE)


def is_greeting(line: str) -> bool:
    """ "Hi Alice," "Good morning": opens a mail, says nothing ("Hi, I fixed it" says
    something)."""
    line = line.strip()
    return _GREETING_LINE.match(line) is not None and (
        line.endswith(",") or len(line.rstrip("!.").split()) <= 2)


def says_resolved(text: str) -> bool:
    """A line that starts by saying it is resolved ("Fixed.", "It's done now"), and
    does not say the opposite ("not resolved yet")."""
    for line in (raw.strip().lstrip("-*• ") for raw in (text or "").splitlines()):
        if _RESOLVED.match(line) and not _NEGATION.search(line) and not line.endswith("?"):
            return True
    return False
