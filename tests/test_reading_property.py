"""Nothing typed goes nowhere (design §5), as a property.

For any reply made of the sent SUP text quoted plus typed lines — at the top,
under the quoted headings, at the bottom — every typed line ends up in a
field, in the developer's comment, or in the receipt's list of lines not
understood (with how to fix it).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailsup.inbound.reading import words
from mailsup.inbound.reading.fields import is_no_blocker_line, is_none, key_line, ticket_mark
from mailsup.inbound.reading.sup_reply import parse_reply
from mailsup.outbound import compose, messages
from tests.test_reply_formats import (
    ASSIGNED,
    BLOCK_H,
    GMAIL_ATTRIBUTION,
    PLAN_H,
    REPOS,
    SCHED_H,
    SENT,
    SUP,
    WEB_H,
)

WORDS = ("invoice", "export", "review", "Bob's", "PR", "deploy", "staging", "the", "login",
         "fix", "migration", "call", "with", "design", "tests", "docs", "queue", "release",
         "pairing", "on", "refactor", "Ünïcode", "ĉaĉo", "日本", "42", "v2", "#12")
HEADINGS = (PLAN_H, SCHED_H, BLOCK_H, WEB_H)

prose = st.lists(st.sampled_from(WORDS), min_size=2, max_size=8).map(" ".join)
label = st.sampled_from(sorted(w for w, f in words.LABELS.items()
                               if f in ("plan", "blockers", "comment")))
scheduling = st.sampled_from(sorted(words.SCHEDULING))
ticket = st.sampled_from(["api#130", "web#45", "#130", "portal#99", "web#7"])
mark = st.sampled_from(sorted(words.BARE_MARKS))
typed_line = st.one_of(
    prose,
    st.tuples(label, prose).map(lambda t: f"{t[0].capitalize()}: {t[1]}"),
    st.tuples(st.sampled_from(["scheduling", "Verfügbarkeit", "availability"]),
              scheduling).map(lambda t: f"{t[0]}: {t[1]}"),
    st.tuples(st.sampled_from(["scheduling", "Schedule"]), prose).map(
        lambda t: f"{t[0]}: {t[1]}"),
    st.tuples(mark, ticket).map(lambda t: f"{t[0]} {t[1]}"),
    st.tuples(ticket, st.sampled_from(["done", "still working on it", "erledigt"])).map(
        lambda t: f"{t[0]} - {t[1]}"),
    st.tuples(st.sampled_from(["done", "working"]), ticket).map(lambda t: f"{t[0]}: {t[1]}"),
    st.tuples(st.sampled_from(["comment web", "comment infra", "Kommentar api"]), prose).map(
        lambda t: f"{t[0]}: {t[1]}"),
    st.sampled_from(sorted(words.SAME_AS_BEFORE)),
    st.sampled_from(["Off sick today", "Half day (dentist at 15:00)", "No blockers",
                     "Blocked on the staging database", "reviewed"]),
)
block = st.lists(typed_line, min_size=1, max_size=4)


def _reply(top: list[str], inline: dict[str, list[str]], bottom: list[str]) -> str:
    out = []
    for line in SENT.text.split("\n"):
        out.append("> " + line if line else ">")
        if line in inline:
            out += ["", *inline[line], ""]
    body = "\n".join(out)
    return "\n\n".join(p for p in ("\n\n".join(top), f"{GMAIL_ATTRIBUTION}\n{body}",
                                   "\n\n".join(bottom)) if p)


def _value(line: str) -> str:
    key = key_line(line)
    return key.value if key is not None else line


def _ends_up(line: str, where: str, parsed, receipt: str) -> bool:
    """Whether ``line``, said to have gone to ``where``, is really there."""
    value = _value(line)
    if where == "plan":
        return value in (parsed.plan or "") or bool(parsed.plan_source == "previous")
    if where == "comment":
        return value in (parsed.comment or "")
    if where == "repo_comment":
        return any(value in text for text in parsed.repo_comments.values())
    if where == "blockers":  # a blocker is in the field; "No blockers" answers it
        return value in (parsed.blockers or "") or line in (parsed.blockers or "") or \
            is_none(value) or is_no_blocker_line(line)
    if where == "scheduling":
        return parsed.scheduling is not None
    if where == "tickets":
        return bool(parsed.planned_tickets) and (ticket_mark(line) or key_line(line))
    if where == "unclear":
        return line in receipt
    return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(top=st.lists(block, max_size=2), bottom=st.lists(block, max_size=1),
       inline=st.dictionaries(st.sampled_from(HEADINGS), block, max_size=3))
def test_every_typed_line_ends_up_somewhere(top, bottom, inline):
    # A blank line between blocks: lines in one block may continue each other.
    top_lines = ["\n".join(b) for b in top]
    bottom_lines = ["\n".join(b) for b in bottom]
    text = _reply(top_lines, inline, bottom_lines)
    parsed = parse_reply(text, SENT.text, ASSIGNED, REPOS, previous_plan=SUP.previous_plan)
    receipt = compose.render(messages.receipt(SUP, parsed.as_fields(), "submitted", False,
                                              reading={"unclear": [
                                                  {"line": u.line, "problem": u.problem}
                                                  for u in parsed.unclear]})).text
    typed = [ln for b in top + bottom + list(inline.values()) for ln in b]
    placed: dict[str, set[str]] = {}
    for line, where in parsed.placed:
        placed.setdefault(line, set()).add(where)
    for line in typed:
        wheres = placed.get(line.strip(), set()) - {"skipped"}
        assert wheres, f"{line!r} went nowhere: {parsed.placed}"
        assert any(_ends_up(line, w, parsed, receipt) for w in wheres), (line, wheres, parsed)
