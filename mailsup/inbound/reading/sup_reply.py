"""Read a developer's reply to their SUP email into fields (design §5).

mailsup knows exactly what it sent, so the reply is aligned line by line with
the sent text: lines found there (quoted or not, re-wrapped or not) are the
skeleton, and only what was added or changed is read. Inline answers belong
to the nearest skeleton heading above them; anything outside a heading is read
as the short form ("plan: …") or, with no label, for what it says (``reader``).
Client attributions, header blocks and signatures are recognised by the
trimmer's line classes and never read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from mailsup.inbound.reading import fields as rf
from mailsup.inbound.reading import trim, words
from mailsup.inbound.reading.fields import PLAN_MISSING, ParsedReply
from mailsup.inbound.reading.reader import FieldReader

__all__ = ["MAX_REPLY_CHARS", "PLAN_MISSING", "ParsedReply", "parse_reply"]

# More than this is not read (a pasted log, a runaway client); the raw message is
# kept whole, and the receipt says where the reading stopped.
MAX_REPLY_CHARS = 64_000

_QUOTE = re.compile(r"[ \t]*((?:>[ \t]?)+)")
_ANSWER_HEADINGS = (
    ("plan", re.compile(r"plan \(required\):$")),
    ("scheduling", re.compile(r"scheduling \(.*\):$")),
    ("blockers", re.compile(r"blockers:$")),
    ("comment", re.compile(r"comment on (?P<repo>\S+):$")),
)
_GREETING = re.compile(
    "(?:" + "|".join(re.escape(w) for w in words.GREETINGS) + r")\b[^:#]{0,30}$",
    re.IGNORECASE,
)
_TAG = re.compile(r"\s*\[([^\]]{1,40})\]\s*")
_NORM_DROP = re.compile(r"^(?:#{1,6}\s+|[-*•◦·▪]\s+)+")
_SPACES = re.compile(r"\s+")
_REF_IN_SENT = re.compile(r"\b(SUP \d+)\b")
_WORD = re.compile(r"\w+")
_GREETING_NAME = re.compile(r"\s*Hi (?P<name>[^,\n]+),")


@dataclass
class _Line:
    depth: int
    text: str  # without quote markers, stripped
    kind: str  # the trimmer's class: E Q T B H h D G S
    role: tuple[str, str | None] | None = None  # skeleton role; None = new text


def parse_reply(text: str, sent_text: str, assigned: list[dict], repos: list[str],
                previous_plan: str | None = None, limit: int = MAX_REPLY_CHARS) -> ParsedReply:
    """Fields of a reply to the SUP mail whose text was ``sent_text``. Never raises on text.

    ``previous_plan`` is what "same as yesterday" takes; by default the one the
    sent mail quoted under "What I said last time:".
    """
    text, cut = _bounded(text or "", limit)
    sent_text = sent_text or ""
    lines = _lines(text)
    sent = [ln.text for ln in _lines(sent_text)]
    _mark_skeleton(lines, sent, _reference(sent_text))
    if previous_plan is None:
        previous_plan = _quoted_previous_plan(sent)
    reader = FieldReader(assigned, _all_repos(repos, sent, assigned), previous_plan)
    names = _names(sent_text)
    sent_words = set(_WORD.findall(norm(sent_text)))
    sent_stream = " " + " ".join(norm(line) for line in sent) + " "
    for segment_kind, section, body in _segments(lines, sent_words, sent_stream):
        reader.read(segment_kind, section, _clean(segment_kind, body, names))
    if cut:
        reader.add_unclear(f"(the last {cut:,} characters of your reply)",
                           f"your reply is longer than the {limit:,} characters that are read; "
                           "the rest was not read (the whole message is kept). Send long "
                           "text as a link or attachment, and your answers in a short reply")
    return reader.finish()


def _bounded(text: str, limit: int) -> tuple[str, int]:
    """The first ``limit`` characters (at a line end when there is one); how many were cut."""
    if len(text) <= limit:
        return text, 0
    end = text.rfind("\n", 0, limit)
    end = end if end > limit // 2 else limit
    return text[:end], len(text) - end


def _quoted_previous_plan(sent: list[str]) -> str | None:
    """The plan under "What I said last time:" in the sent mail."""
    for i, line in enumerate(sent):
        if norm(line) == "what i said last time:":
            block = []
            for following in sent[i + 1:]:
                if not following.strip():
                    break
                block.append(following.strip())
            plan = "\n".join(block)
            return None if plan in ("", "(no earlier SUP)") else plan
    return None


def _clean(kind: str, body: list[_Line], names: set[str]) -> list[str]:
    """A segment's own words: no "[Alice]" tags, signature, sign-off or greeting."""
    texts = [ln.text for ln in body]
    if kind == "checkbox":
        return texts
    texts = trim.strip_signature("\n".join(_untag(t, names) for t in texts)).split("\n")
    texts = _strip_sign_off(texts, names)
    if kind == "free" and texts and _is_greeting(texts[0]):
        texts = texts[1:]
    return texts


# --------------------------------------------------------------------------
# Lines and skeleton


def _lines(text: str) -> list[_Line]:
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kinds = trim._classify(raw)  # noqa: SLF001 - the trimmer's line classes are the contract
    out = []
    for line, kind in zip(raw, kinds, strict=True):
        match = _QUOTE.match(line)
        depth = match.group(1).count(">") if match else 0
        out.append(_Line(depth, (line[match.end():] if match else line).strip(), kind))
    return out


def _reference(sent_text: str) -> str:
    match = _REF_IN_SENT.search(sent_text)
    return match.group(1).casefold() if match else "\x00"


def _role(norm: str, ref: str) -> tuple[str, str | None]:
    for name, pattern in _ANSWER_HEADINGS:
        match = pattern.match(norm)
        if match:
            return name, match.groupdict().get("repo")
    if norm == "--" or (norm.startswith("mailsup") and ref in norm):
        return "end", None
    return "content", None


def _sent_roles(sent: list[str], ref: str) -> list[tuple[str, str | None]]:
    roles = []
    for raw in sent:
        n = norm(raw)
        role = _role(n, ref)
        if role[0] == "content" and (raw.lstrip().startswith("#") or n.endswith(":")):
            role = ("heading", None)
        roles.append(role)
    return roles


def _mark_skeleton(lines: list[_Line], sent: list[str], ref: str) -> None:
    """Give every reply line found in the sent text (in order) that line's role."""
    roles = _sent_roles(sent, ref)
    sent_idx = [i for i, s in enumerate(sent) if norm(s)]
    reply_idx = [i for i, ln in enumerate(lines) if ln.text]
    # A signature separator of the sender's own is never the "-- " that mailsup sent.
    a = [norm(lines[i].text) if lines[i].kind != "G" else f"\x00{i}" for i in reply_idx]
    b = [norm(sent[j]) for j in sent_idx]
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                lines[reply_idx[i1 + k]].role = roles[sent_idx[j1 + k]]
        elif tag == "replace":
            _mark_rewrapped([lines[reply_idx[i]] for i in range(i1, i2)], a[i1:i2],
                            " " + " ".join(b[j1:j2]) + " ", ref)
    for ln in lines:
        if ln.role is None and ln.kind != "G" and _role(norm(ln.text), ref)[0] == "end":
            ln.role = ("end", None)  # the HTML alternative words its footer differently


def _mark_rewrapped(lines: list[_Line], norms: list[str], stream: str, ref: str) -> None:
    """Lines a client re-wrapped (split or joined) are still the sent text."""
    k = 0
    while k < len(norms):
        end = k
        while end + 1 < len(norms) and f" {' '.join(norms[k:end + 2])} " in stream:
            end += 1
        joined = " ".join(norms[k:end + 1])
        if f" {joined} " in stream and (end > k or len(joined.split()) >= 3):
            role = _role(joined, ref)
            for ln in lines[k:end + 1]:
                ln.role = role
        k = end + 1


# --------------------------------------------------------------------------
# Segments: runs of new text, each with where it stands


_ANSWERS = ("plan", "scheduling", "blockers", "comment")


@dataclass
class _State:
    """Where the walk through the reply stands."""

    zone: str = "top"  # top: above the original | original | bottom: below its footer
    section: tuple | None = None  # the answer heading that new text belongs to
    depth_limit: int = 0  # quote depth of that heading: deeper lines are the original's
    in_signature: bool = False
    in_prose: bool = False  # the previous line was the original's own prose

    @property
    def kind(self) -> str:
        if self.zone != "original":
            return "free"
        return "answer" if self.section else "loose"

    def enter(self, ln: _Line) -> None:
        """A skeleton line or a client boundary (attribution, header block, separator)."""
        role = ln.role[0] if ln.role else "boundary"
        self.in_signature = self.in_prose = False
        if role == "end":
            self.zone, self.section = "bottom", None
        elif role in _ANSWERS:
            self.zone, self.section, self.depth_limit = "original", ln.role, ln.depth
        elif role == "content":
            self.zone = "original" if self.zone == "top" else self.zone
        else:
            self.zone, self.section = "original", None

    def skips_signature(self, ln: _Line) -> bool:
        if ln.kind == "G":
            self.in_signature = True
        elif ln.kind == "Q":
            self.in_signature = False  # the quoted original follows a signature
        return self.in_signature or ln.kind == "S"

    def is_own(self, ln: _Line, sent_words: set[str], sent_stream: str) -> bool:
        """False for the original's words in a form the sent text lacks (HTML wording)."""
        if not ln.text:
            self.in_prose = False
            return True
        if ln.depth > (self.depth_limit if self.kind == "answer" else 0):
            return False
        if self.kind == "loose" and (self.in_prose or _mostly(ln.text, sent_words)):
            self.in_prose = True  # a wrapped paragraph continues until a blank line
            return False
        if self.kind == "loose" and _in_sent(ln.text, sent_stream):
            return False
        return True


def _segments(lines: list[_Line], sent_words: set[str], sent_stream: str):
    """Yield (kind, section, lines) for each run of new text.

    kind: "free" (above or below the original: short form), "loose" (inside the
    original but under no answer heading), "answer" (under ``section``) or
    "checkbox" (one edited ticket line).
    """
    state = _State()
    key: tuple[str, tuple | None] = ("free", None)
    current: list[_Line] = []
    for ln in lines:
        boundary = ln.role is not None or ln.kind in "BHhD"
        if boundary:
            state.enter(ln)
        elif state.skips_signature(ln):
            continue
        elif state.zone == "top" and ln.depth > 0:
            state.zone = "original"  # a quote with no attribution above it
        if boundary or (state.kind, state.section) != key:
            if any(x.text for x in current):
                yield key[0], key[1], current
            current, key = [], (state.kind, state.section)
        if boundary:
            continue
        if rf.CHECKBOX.match(ln.text):
            yield "checkbox", None, [ln]
        elif state.is_own(ln, sent_words, sent_stream):
            current.append(ln)
    if any(x.text for x in current):
        yield key[0], key[1], current


def _mostly(text: str, sent_words: set[str]) -> bool:
    """Prose made of the sent mail's words: its HTML wording, e.g. an unquoted Outlook original."""
    found = _WORD.findall(norm(text))
    if rf.key_line(text) is not None or len(found) < 5:
        return False
    return sum(w in sent_words for w in found) >= 0.8 * len(found)


def _in_sent(text: str, sent_stream: str) -> bool:
    """A piece of the sent text (three words or more), as the HTML alternative words it."""
    n = norm(text)
    return len(n.split()) >= 3 and rf.key_line(text) is None and f" {n} " in sent_stream


def _all_repos(repos: list[str], sent: list[str], assigned: list[dict]) -> list[str]:
    found = list(repos or [])
    for line in sent:
        match = _ANSWER_HEADINGS[3][1].match(norm(line))
        if match:
            found.append(line.strip()[len("Comment on "):-1])
    found += [t["repo"] for t in assigned]
    return list(dict.fromkeys(found))


def _names(sent_text: str) -> set[str]:
    match = _GREETING_NAME.match(sent_text)
    if match is None:
        return set()
    name = match.group("name").strip().casefold()
    return {name, name[:1]}  # "[Alice]" / "[A]" tags, "Alice" / "A" under a sign-off


@lru_cache(maxsize=8192)  # the quoted request's lines are the same in every reply
def norm(line: str) -> str:
    """Comparison form: quote, markdown and bullet decoration and spacing removed."""
    text = line.replace("\xa0", " ").strip()
    text = _NORM_DROP.sub("", text).replace("*", "")
    return _SPACES.sub(" ", text).strip().casefold()


def _untag(line: str, names: set[str]) -> str:
    """Drop the "[Alice] " Outlook users put before answers typed into an original."""
    match = _TAG.match(line)
    return line[match.end():] if match and match.group(1).strip().casefold() in names else line


def _is_greeting(line: str) -> bool:
    return _GREETING.match(line.strip()) is not None


def _strip_sign_off(lines: list[str], names: set[str]) -> list[str]:
    """Drop "Thanks,\\nAlice" (and a short name block) or "- Alice" ending a piece of text.

    Only at the very end and only when everything after the sign-off word looks
    like a name, so a plan line that merely starts with "Best" survives.
    """
    lines = _trim_blank(lines)
    if lines and lines[-1].strip().lstrip("-– ").casefold() in names:
        lines = _trim_blank(lines[:-1])
    start = max(0, len(lines) - 4)
    for i in range(start, len(lines)):
        tail = [t.strip() for t in lines[i + 1:] if t.strip()]
        if rf.is_sign_off(lines[i]) and all(_name_like(t) for t in tail):
            return _trim_blank(lines[:i])
    return lines


def _name_like(line: str) -> bool:
    return len(line.split()) <= 5 and ":" not in line and "#" not in line


def _trim_blank(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]
