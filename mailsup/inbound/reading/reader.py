"""Assemble a SUP reply's fields from the pieces of new text ``sup_reply`` found.

Read as a colleague would (design §5): labelled lines go to their field; a
line with no label is read for what it is (a ticket mark, "same as
yesterday", "no blockers", "off sick"); text that is none of these is the
plan when no label gave one, else the developer's comment. Nothing typed goes
nowhere: every line ends in a field, the comment, or the list of lines not
understood, each with a sentence saying how to fix it (``ParsedReply.placed``
records where each went).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailsup.inbound.reading import fields as rf
from mailsup.inbound.reading.fields import KeyLine, ParsedReply, TicketRef, Unclear

__all__ = ["FieldReader"]


@dataclass
class _Pending:
    """A label whose value may go on over the following lines."""

    key: KeyLine
    lines: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def value(self) -> str:
        return "\n".join([self.key.value, *self.extra]).strip()

    def takes(self, text: str) -> bool:
        """Multi-line plans, blockers and comments; one line for an empty label."""
        if self.key.key in ("plan", "blockers", "comment"):
            return True
        return not self.value and (self.key.key == "scheduling" or bool(rf.ticket_refs(text)))


def _stands_alone(text: str) -> bool:
    """A line that says something of its own, so it does not continue a plan above it."""
    return (rf.ticket_mark(text) is not None or rf.is_no_blocker_line(text)
            or rf.is_blocker_line(text) or rf.scheduling_of(text, strict=True) is not None)


class FieldReader:
    """Collects fields from the segments the parser found; the last word on a ticket wins."""

    def __init__(self, assigned: list[dict], repos: list[str],
                 previous_plan: str | None = None) -> None:
        self.assigned, self.repos, self.previous_plan = assigned, repos, previous_plan
        self.result = ParsedReply()
        self.label_plans: list[str] = []
        # Lines with no label, in order: (text, "text" | "previous", zone).
        self.free: list[tuple[str, str, str]] = []
        self.scheduling_lines: list[str] = []
        self.comments: list[str] = []
        self.blockers: list[str] = []
        self.blockers_given = False
        self.schedulings: list[tuple[str, str | None]] = []
        self.tickets: dict[tuple[str, int], dict] = {}

    # --- segments ---------------------------------------------------------

    def read(self, kind: str, section: tuple | None, body: list[str]) -> None:
        """``kind``: checkbox | free (outside the original) | loose | answer (to ``section``)."""
        if any(t.strip() for t in body):
            self.result.typed = True
        if kind == "checkbox":
            self._marked(body[0])
            return
        answers: list[str] = []
        pending: _Pending | None = None
        for text in body:
            if not text.strip():
                if pending is not None and pending.value:
                    pending = self._flush(pending)
                continue
            key = None if rf.is_hr_command(text) else rf.key_line(text)
            if key is not None:
                self._flush(pending)
                pending = _Pending(key, [text])
                if key.value and not _Pending(key).takes(text):
                    pending = self._flush(pending)
            elif pending is not None and pending.takes(text) and not (
                    pending.value and _stands_alone(text)):
                pending.lines.append(text)
                pending.extra.append(text)
            else:
                pending = self._flush(pending)
                if kind == "answer":
                    answers.append(text)
                else:
                    self._unlabelled(text, kind)
        self._flush(pending)
        if answers:
            self._answer(section, answers)

    def _flush(self, pending: _Pending | None) -> None:
        if pending is not None:
            self._apply(KeyLine(pending.key.key, pending.value, pending.key.repo), pending.lines)

    def _answer(self, section: tuple, lines: list[str]) -> None:
        """Lines typed under a heading of the SUP mail: that heading's field."""
        rest = []
        for text in lines:
            if section[0] != "comment" and self._ticket_line(text):
                continue
            rest.append(text)
        if rest:
            self._apply(KeyLine(section[0], "\n".join(rest), section[1]), rest)

    def _unlabelled(self, text: str, zone: str) -> None:
        """A line with no label, above, below or inside the quoted original."""
        if rf.is_hr_command(text):
            self._unclear(text, "this looks like an HR digest command; a SUP reply takes "
                          'your plan ("plan: …"), scheduling, tickets and blockers')
        elif self._ticket_line(text):
            pass
        elif rf.same_as_before(text)[0]:
            self._same_as_before(text, zone)
        elif rf.is_no_blocker_line(text):
            self.blockers_given = True
            self._place(text, "blockers")
        elif rf.is_blocker_line(text):
            self.blockers.append(text.strip())
            self._place(text, "blockers")
        elif rf.scheduling_of(text, strict=True) is not None:
            self._scheduling(text, [text])
            self.scheduling_lines.append(text.strip())
        elif rf.is_pleasantry(text):
            self._place(text, "skipped")
        else:
            rest, went = self._answers_in(text)
            if rest:
                self.free.append((rest, "text", zone))
            for where in went:
                self._place(text, where)

    # --- fields -----------------------------------------------------------

    def _apply(self, key: KeyLine, lines: list[str]) -> None:
        value = key.value.strip()
        if key.key == "plan":
            self._plan(value, lines)
        elif key.key == "blockers":
            self.blockers_given = True
            if not rf.is_none(value):
                self.blockers.append(value)
            self._place_all(lines, "blockers")
        elif key.key == "scheduling":
            self._scheduling(value, lines)
        elif key.key in ("done", "working"):
            for ref in rf.ticket_refs(value):
                self._ticket(ref, key.key == "done", lines[0])
            self._place_all(lines, "tickets")
        elif key.key == "comment":
            self._comment(key.repo, value, lines)

    def _plan(self, value: str, lines: list[str]) -> None:
        if not value:
            return
        same, rest = rf.same_as_before(value)
        if same:
            value = self._previous(lines[0], rest)
            if value is None:
                return
        self.label_plans.append(value)
        self._place_all(lines, "plan")

    def _previous(self, line: str, rest: str) -> str | None:
        if not self.previous_plan:
            self._unclear(line, 'there is no earlier plan to copy ("same as yesterday"): '
                          'write your plan, e.g. "plan: finish the login fix"')
            return None
        self.result.plan_source = "previous"
        return "\n".join(p for p in (self.previous_plan.strip(), rest) if p)

    def _same_as_before(self, text: str, zone: str) -> None:
        rest, went = self._answers_in(rf.same_as_before(text)[1])
        value = self._previous(text, rest)
        if value is not None:
            self.free.append((value, "previous", zone))
            self._place(text, "plan")
        for where in went:
            self._place(text, where)

    def _answers_in(self, text: str) -> tuple[str, list[str]]:
        """A line of prose, less the sentences that answer a field of their own.

        "Off sick today, sorry. No blockers." is a scheduling and a blockers
        answer; "… pair with Bob on checkout, blocked by staging being down" is
        a plan and a blocker. A blocker or scheduling sentence goes to its field;
        returned are the rest of the text (the plan or a comment) and where the
        others went. "No blockers." answers the blockers and stays in the text
        it ends (design §5's "Today: …. No blockers." is the plan); alone with
        other answers it is no plan. A line that is one piece of prose comes
        back whole.
        """
        parts = rf.clauses(text)
        if len(parts) == 1 and parts[0] == text.strip():
            return parts[0], []  # the caller has read the whole line already
        kept, went, prose = [], [], False
        for part in parts:
            key = rf.key_line(part)
            if key is not None and key.key == "blockers":
                self._apply(key, [])  # as a labelled line; the caller places the whole line
                went.append("blockers")
            elif rf.is_no_blocker_line(part):
                self.blockers_given = True
                went.append("blockers")
                kept.append(part)
            elif rf.is_blocker_line(part):
                self.blockers.append(part)
                went.append("blockers")
            elif rf.scheduling_of(part, strict=True) is not None:
                self._scheduling(part, [])
                self.scheduling_lines.append(part)
                went.append("scheduling")
            elif not rf.is_pleasantry(part):
                kept.append(part)
                prose = True
        if not went:
            return text.strip(), []
        if prose and len(kept) == len(parts):  # only "no blockers" was said besides: as typed
            return text.strip(), went
        return (" ".join(kept) if prose else ""), went

    def _scheduling(self, value: str, lines: list[str]) -> None:
        if not value:
            return
        first, _, more = value.partition("\n")
        found = rf.scheduling_of(first)
        if found is None:
            self._unclear(lines[0] if lines else first, rf.scheduling_problem(first))
            for line in lines[1:]:
                self._unclear(line, rf.scheduling_problem(first))
            return
        normal, note = found
        note = "\n".join(p for p in (note, more.strip()) if p) or None
        self.schedulings.append((normal, note))
        self._place_all(lines, "scheduling")

    def _comment(self, repo: str | None, value: str, lines: list[str]) -> None:
        if not value:
            return
        if repo is None:
            self.comments.append(value)
            self._place_all(lines, "comment")
            return
        full = rf.resolve_repo(repo, self.repos)
        if full is None:
            self._unclear(lines[0], f'unknown repository "{repo}" (e.g. "comment '
                          f'{rf.short_name(self.repos[0]) if self.repos else "api"}: …"); '
                          "use one of: " + (", ".join(self.repos) or "(none)"))
            for line in lines[1:]:
                self._place(line, "unclear")
                self.result.unclear.append(Unclear(line.strip(), self.result.problems[-1]))
            return
        old = self.result.repo_comments.get(full)
        self.result.repo_comments[full] = f"{old}\n{value}" if old else value
        self._place_all(lines, "repo_comment")

    # --- tickets ----------------------------------------------------------

    def _ticket_line(self, text: str) -> bool:
        """Whether ``text`` marks tickets; if so they are recorded (or reported)."""
        mark = rf.ticket_mark(text)
        if mark is None:
            return False
        if mark.done is None:
            self._unclear(text, mark.problem or "unknown ticket mark")
            return True
        for ref in mark.refs:
            self._ticket(ref, mark.done, text)
        if text not in [u.line for u in self.result.unclear]:
            self._place(text, "tickets")
        return True

    def _marked(self, text: str) -> None:
        """An edited box line of the SUP mail ("[x] api#130 Add endpoint")."""
        if not self._ticket_line(text):
            self._place(text, "skipped")  # an unchanged "[ ] …" box

    def _ticket(self, ref: TicketRef, done: bool, line: str) -> None:
        ticket, problem = rf.resolve_ticket(ref, self.assigned)
        if problem:
            self._unclear(line, problem)
            return
        key = (ticket["repo"], int(ticket["number"]))
        self.tickets.pop(key, None)  # the last mark wins; order follows it
        self.tickets[key] = {"repo": ticket["repo"], "number": int(ticket["number"]),
                             "title": ticket.get("title", ""), "expect_done": done}

    # --- bookkeeping ------------------------------------------------------

    def _unclear(self, line: str, problem: str) -> None:
        result = self.result
        if problem not in result.problems:
            result.problems.append(problem)
        result.unclear.append(Unclear(line.strip(), problem))
        self._place(line, "unclear")

    def _place(self, line: str, where: str) -> None:
        if line.strip():
            self.result.placed.append((line.strip(), where))

    def _place_all(self, lines: list[str], where: str) -> None:
        for line in lines:
            self._place(line, where)

    def add_unclear(self, line: str, problem: str) -> None:
        self._unclear(line, problem)

    # --- the result -------------------------------------------------------

    def finish(self) -> ParsedReply:
        result = self.result
        self._decide_plan()
        result.blockers = "\n".join(self.blockers).strip() or None
        if self.schedulings:
            result.scheduling, result.scheduling_note = self.schedulings[-1]
            values = list(dict.fromkeys(v for v, _ in self.schedulings))
            if len(values) > 1:
                result.notes.append("more than one scheduling value was given ("
                                    + ", ".join(values) + f'); "{result.scheduling}", the '
                                    'last, is recorded: reply with "scheduling: …" to change it')
        result.planned_tickets = list(self.tickets.values())
        result.comment = "\n".join(self.comments).strip() or None
        result.given = self._given()
        if result.plan is None:
            result.problems.append(rf.PLAN_MISSING)
        return result

    def _decide_plan(self) -> None:
        """Labels first; else the unlabelled text (outside the original before inside it)."""
        result = self.result
        previous = [text for text, how, _ in self.free if how == "previous"]
        outside = [f for f in self.free if f[1] == "previous" or f[2] == "free"]
        inside = [f for f in self.free if f not in outside]
        if self.label_plans:
            plan, comment = self.label_plans + previous, [f for f in self.free if f[1] == "text"]
            result.plan_source = result.plan_source or "label"
        elif outside or inside:
            chosen = outside or inside
            plan, comment = [text for text, _, _ in chosen], [f for f in self.free
                                                               if f not in chosen]
            result.plan_source = result.plan_source or "text"
        else:
            # "Off sick today" alone: the scheduling line is the plan too, but only
            # for a SUP that has none yet (``given`` leaves the plan out).
            plan, comment = self.scheduling_lines, []
            result.plan_source = "scheduling" if plan else None
        result.plan = "\n".join(plan).strip() or None
        for text, how, _ in self.free:
            if how == "text":
                self._place(text, "plan" if text in plan else "comment")
        self.comments[:0] = [text for text, _, _ in comment]

    def _given(self) -> list[str]:
        result, given = self.result, []
        for name, present in (("plan", result.plan and result.plan_source != "scheduling"),
                              ("scheduling", self.schedulings),
                              ("blockers", self.blockers_given or self.blockers),
                              ("planned_tickets", self.tickets),
                              ("repo_comments", result.repo_comments),
                              ("comment", result.comment)):
            if present:
                given.append(name)
        return given
