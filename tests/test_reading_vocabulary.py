"""Every entry of ``reading/words.py`` works in real replies from each client shape.

Two sweeps over the same cases. Through ``mailsup inbound deliver``: one reply
per entry (the three client shapes in turn) into one submitted SUP, so each
entry is checked by what it changed in the stored SUP — and by what it must
not change (a word that was not understood falls through to plain text and
would replace the plan). And read from every shape: the MIME bytes of each
client's reply, read against the very mail that was sent, as the handler does.
"""

from __future__ import annotations

import email
from dataclasses import dataclass
from email import policy

import pytest

from mailsup.inbound.reading import words
from mailsup.inbound.reading.body import reply_text
from mailsup.inbound.reading.sup_reply import parse_reply
from mailsup.models import SCHEDULING_VALUES, Effect, Keys, Sup
from mailsup.outbound.context import assigned_tickets
from tests.support import reading_world as rw
from tests.support.client_shapes import SHAPES

BASE_PLAN = "the plan stays"
P60 = "ticket:acme/portal#60"


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory):
    yield from rw.open_world(tmp_path_factory)


@pytest.fixture
def world(shared_world):
    yield from rw.bound(shared_world)


@dataclass(frozen=True)
class Case:
    entry: str
    top: str
    expect: tuple  # (key, value) pairs; see ``_got_stored`` and ``_got_read``
    reset: str | None = None  # sent first through the door, so the case shows a change


def _title(word: str) -> str:
    return word[:1].upper() + word[1:]


def _hints() -> set[str]:
    return {w for hints in words.SCHEDULING_HINTS.values() for w in hints}


def plan_labels():
    return [Case(w, f"{_title(w)}: plan by {w}", (("plan", f"plan by {w}"),))
            for w in words.LABEL_WORDS["plan"]]


def scheduling_labels():
    values = SCHEDULING_VALUES
    return [Case(w, f"{_title(w)}: {values[i % 4]}",
                 (("scheduling", values[i % 4]), ("plan_kept", True)))
            for i, w in enumerate(words.LABEL_WORDS["scheduling"])]


def blocker_labels():
    return [Case(w, f"{_title(w)}: waiting for thing {i}",
                 (("blockers", f"waiting for thing {i}"), ("escalated", True)))
            for i, w in enumerate(words.LABEL_WORDS["blockers"])]


def ticket_labels():
    return [Case(w, f"{_title(w)}: portal#60", ((P60, kind == "done"), ("plan_kept", True)),
                 reset="[~] portal#60" if kind == "done" else "[x] portal#60")
            for kind in ("done", "working") for w in words.LABEL_WORDS[kind]]


def comment_labels():
    cases = [Case(w, f"{_title(w)}: note {i}", (("comment", f"note {i}"), ("plan_kept", True)))
             for i, w in enumerate(words.LABEL_WORDS["comment"])]
    return cases + [Case(f"{w} <repo>", f"{_title(w)} portal: about portal {i}",
                         (("repo:acme/portal", f"about portal {i}"), ("plan_kept", True)))
                    for i, w in enumerate(words.LABEL_WORDS["comment"])]


def scheduling_words():
    by_value: dict[str, list[Case]] = {}
    entries = list(words.SCHEDULING.items())
    entries += [(w, v) for v, hints in words.SCHEDULING_HINTS.items() for w in hints]
    for word, value in entries:
        expect = [("scheduling", value), ("plan_kept", True)]
        top = f"scheduling: {word}"
        if word in _hints():
            top += " 15:00"
            expect.append(("scheduling_note", f"{word} 15:00"))
        by_value.setdefault(value, []).append(Case(word, top, tuple(expect)))
    mixed = []  # interleaved, so that consecutive replies give different values
    while any(by_value.values()):
        mixed += [cases.pop() for cases in by_value.values() if cases]
    return mixed


def scheduling_notes():
    return [Case(c.entry, f"Scheduling: {c.entry} (back on Monday)",
                 c.expect + (("scheduling_note", "back on Monday"),))
            for c in scheduling_words() if c.entry not in _hints()]


def none_words():
    expect = (("blockers", None), ("escalated", False), ("plan_kept", True))
    cases = [Case(w, f"blockers: {w or '-'}", expect) for w in sorted(words.NONE_WORDS)]
    cases += [Case(f"nothing {t}", f"Blockers: Nothing {t}", expect) for t in words.NONE_TAILS]
    return cases + [Case(line, _title(line), expect) for line in sorted(words.NO_BLOCKER_LINES)]


def ticket_marks():
    marks = [(m, f"{m} portal#60", words.BARE_MARKS[m] == "done")
             for m in sorted(words.BARE_MARKS)]
    marks += [(f"[{m}]", f"[{m}] portal#60", m in words.DONE_MARKS)
              for m in sorted(words.DONE_MARKS | words.WORKING_MARKS)]
    marks += [(f"- {p}", f"portal#60 - {p}", p in words.DONE_PHRASES)
              for p in words.DONE_PHRASES + words.WORKING_PHRASES]
    return [Case(entry, top, ((P60, done), ("plan_kept", True)),
                 reset="[~] portal#60" if done else "[x] portal#60")
            for entry, top, done in marks]


def same_as_before():
    return [Case(p, _title(p), (("plan", rw.PREVIOUS_PLAN),), reset="plan: something else")
            for p in words.SAME_AS_BEFORE]


def sign_offs_and_greetings():
    expect = (("plan_kept", True), ("comment", None), ("scheduling", "part day"))
    return ([Case(w, f"{_title(w)},\n\nscheduling: part day", expect) for w in words.GREETINGS]
            + [Case(w, f"scheduling: part day\n\n{_title(w)},\nAlice", expect)
               for w in words.SIGN_OFFS]
            + [Case(w, f"{_title(w)}\n\nscheduling: part day", expect)
               for w in words.PLEASANTRIES])


CATEGORIES = {f.__name__: f for f in (
    plan_labels, scheduling_labels, blocker_labels, ticket_labels, comment_labels,
    scheduling_words, scheduling_notes, none_words, ticket_marks, same_as_before,
    sign_offs_and_greetings)}


# --------------------------------------------------------------------------
# Through the door


def _got_stored(key: str, sup: Sup, row):
    if key == "plan_kept":
        return sup.plan == BASE_PLAN
    if key == "escalated":
        return Effect.get_or_none(Effect.key == Keys.escalation(sup.id, row.id)) is not None
    if key.startswith("ticket:"):
        repo, number = key[len("ticket:"):].split("#")
        return {(t["repo"], t["number"]): t["expect_done"]
                for t in sup.planned_tickets}.get((repo, int(number)))
    if key.startswith("repo:"):
        return (sup.repo_comments or {}).get(key[len("repo:"):])
    return getattr(sup, key)


def _send(world, shape: str, top: str):
    raw = SHAPES[shape](world.request, top)
    return rw.deliver(world.settings, world.folder, raw, world.clock.next(), flush=False)


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_each_entry_through_inbound_deliver(world, category):
    rw.reopen(world.sup_id)
    _send(world, "gmail", f"plan: {BASE_PLAN}")
    shapes, failures = sorted(SHAPES), []
    for i, case in enumerate(CATEGORIES[category]()):
        shape = shapes[i % len(shapes)]
        if case.reset:
            _send(world, shape, case.reset)
        row = _send(world, shape, case.top)
        sup = Sup.get_by_id(world.sup_id)
        wrong = [f"{k}={_got_stored(k, sup, row)!r} (want {v!r})" for k, v in case.expect
                 if _got_stored(k, sup, row) != v]
        if row.status != "applied" or any(r.startswith("not understood") for r in row.reasons):
            wrong.append(f"{row.status}: {row.reasons}")
        if wrong:
            failures.append(f"{case.entry!r} via {shape} ({case.top!r}): {'; '.join(wrong)}")
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------
# Read from every shape


def _got_read(key: str, parsed):
    if key == "plan_kept":
        return "plan" not in parsed.given
    if key == "escalated":
        return bool(parsed.blockers)
    if key.startswith("ticket:"):
        repo, number = key[len("ticket:"):].split("#")
        return {(t["repo"], t["number"]): t["expect_done"]
                for t in parsed.planned_tickets}.get((repo, int(number)))
    if key.startswith("repo:"):
        return parsed.repo_comments.get(key[len("repo:"):])
    return getattr(parsed, key)


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_each_entry_read_from_each_shape(world, category, shape):
    sup = Sup.get_by_id(world.sup_id)
    sent = world.request.text
    assigned = assigned_tickets(sup.footprint)
    repos = ["acme/api", "acme/portal", "acme/billing"]
    failures = []
    for case in CATEGORIES[category]():
        msg = email.message_from_bytes(SHAPES[shape](world.request, case.top),
                                       policy=policy.default)
        parsed = parse_reply(reply_text(msg), sent, assigned, repos, rw.PREVIOUS_PLAN)
        wrong = [f"{k}={_got_read(k, parsed)!r} (want {v!r})" for k, v in case.expect
                 if _got_read(k, parsed) != v]
        if parsed.unclear:
            wrong.append(f"not understood: {parsed.problems}")
        if wrong:
            failures.append(f"{case.entry!r} ({case.top!r}): {'; '.join(wrong)}")
    assert not failures, "\n".join(failures)
