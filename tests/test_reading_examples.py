"""Replies written the way people write them, read the way a colleague would (design §5).

Every example of issue 10 goes to a real SUP mail as a Gmail, an Outlook
HTML-only and an Apple Mail reply, through ``mailsup inbound deliver``; the
SUP, the receipt (or refusal) and the escalations are checked as stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from mailsup.models import Effect, Keys, Sup
from tests.support import reading_world as rw
from tests.support.client_shapes import SHAPES
from tests.support.reading_world import PREVIOUS_PLAN, answer_to, deliver, reopen


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory):
    yield from rw.open_world(tmp_path_factory)


@pytest.fixture
def world(shared_world):
    yield from rw.bound(shared_world)


PLAN_H = "Plan (required):"
SCHED_H = "Scheduling (full day, part day, emergency only, unavailable):"
BLOCK_H = "Blockers:"


def ticket(repo: str, number: int, title: str, done: bool) -> dict:
    return {"repo": f"acme/{repo}", "number": number, "title": title, "expect_done": done}


P60 = ("portal", 60, "Checkout page")
P51 = ("portal", 51, "Login redirect")
P45 = ("portal", 45, "Cookie banner")
B130 = ("billing", 130, "Invoice export")


@dataclass
class Example:
    name: str
    top: str = ""
    inline: dict[str, list[str]] = field(default_factory=dict)
    edits: dict[str, str] = field(default_factory=dict)
    status: str = "submitted"
    fields: dict = field(default_factory=dict)
    answer: tuple[str, ...] = ()  # in the receipt's (or refusal's) text
    escalated: bool = False


TODAY = "Today: finishing the invoice export, then reviewing Bob's PR. No blockers."
EXAMPLES = [
    Example("no_labels_at_all", TODAY, fields={"plan": TODAY, "blockers": None},
            answer=("without a label as your plan", "plan: ...")),
    Example("off_sick_today", "Off sick today",
            fields={"plan": "Off sick today", "scheduling": "unavailable"},
            answer=("Scheduling: unavailable",)),
    Example("same_as_yesterday", "same as yesterday", fields={"plan": PREVIOUS_PLAN},
            answer=("previous SUP", 'reply with just the line "plan: ..."')),
    Example("same_as_before", "Same as before.", fields={"plan": PREVIOUS_PLAN}),
    Example("as_yesterday", "As yesterday", fields={"plan": PREVIOUS_PLAN}),
    Example("same_as_yesterday_plus", "Same as yesterday, plus the release notes",
            fields={"plan": PREVIOUS_PLAN + "\nplus the release notes"}),
    Example("label_typos", "Plna: ship the export\nSchedulng: full day\nBlokers: none",
            fields={"plan": "ship the export", "scheduling": "full day", "blockers": None}),
    Example("labels_in_any_case", "PLAN: ship it\nsCHEDULING: Half Day",
            fields={"plan": "ship it", "scheduling": "part day"}),
    Example("off_sick_as_value", "plan: rest\nscheduling: off sick",
            fields={"scheduling": "unavailable"}),
    Example("out_today_as_value", "plan: rest\nscheduling: out today",
            fields={"scheduling": "unavailable"}),
    Example("available_all_day", "plan: ship it\nscheduling: available all day",
            fields={"scheduling": "full day"}),
    Example("note_kept", "plan: ship it\nscheduling: part day (leaving at 14:00)",
            fields={"scheduling": "part day", "scheduling_note": "leaving at 14:00"},
            answer=("Scheduling: part day (leaving at 14:00)",)),
    Example("leaving_at", "plan: ship it\nscheduling: leaving at 14:00",
            fields={"scheduling": "part day", "scheduling_note": "leaving at 14:00"}),
    Example("value_on_the_next_line", "plan: ship it\nScheduling:\nfull day",
            fields={"scheduling": "full day"}),
    Example("plan_on_the_next_line", "Plan:\nship the export\n\nscheduling: full day",
            fields={"plan": "ship the export", "scheduling": "full day"}),
    Example("inline_under_headings", inline={PLAN_H: ["ship the export"],
                                             SCHED_H: ["half day (dentist at 15:00)"]},
            fields={"plan": "ship the export", "scheduling": "part day",
                    "scheduling_note": "dentist at 15:00"}),
    Example("nothing_at_the_moment", "plan: ship it\nBlockers: Nothing at the moment",
            fields={"blockers": None}, escalated=False),
    Example("gmail_bold_labels", "*Plan:* ship the export\n*Blockers:* none",
            fields={"plan": "ship the export", "blockers": None}),
    Example("bullet_none_under_the_heading", "plan: ship it", inline={BLOCK_H: ["* none"]},
            fields={"blockers": None}),
    Example("dash_label", "- Plan - ship the export\n- Blockers - n/a",
            fields={"plan": "ship the export", "blockers": None}),
    Example("ticket_marks_any_style",
            "plan: tickets\n✓ portal#60\nx portal#51\nbilling#130 - done\n"
            "portal#45 - still working on it",
            fields={"planned_tickets": [ticket(*P60, True), ticket(*P51, True),
                                        ticket(*B130, True), ticket(*P45, False)]},
            answer=("portal#45 Cookie banner (working on it)",)),
    Example("ticket_boxes_edited", "plan: tickets",
            edits={"[ ] portal#60": "[x] portal#60", "[ ] portal#45": "[~] portal#45",
                   "[ ] billing#130 Invoice export": "[ ] billing#130 Invoice export ✓"},
            fields={"planned_tickets": [ticket(*P60, True), ticket(*P45, False),
                                        ticket(*B130, True)]}),
    Example("hash_number_of_the_one_such_ticket", "plan: tickets\n#60 done\n#45: working",
            fields={"planned_tickets": [ticket(*P60, True), ticket(*P45, False)]}),
    Example("blocked_label", "plan: wait\nblocked: staging is down",
            fields={"blockers": "staging is down"}, escalated=True,
            answer=("sent to the delivery manager",)),
    Example("impediments_label", "plan: wait\nimpediments: VPN broken",
            fields={"blockers": "VPN broken"}, escalated=True),
    # One line of prose may say several things (a new user's reply, stop 20).
    Example("blocker_in_a_sentence",
            "Yesterday I fixed the login bug, today I'll pair with Bob on checkout, "
            "blocked by staging being down",
            fields={"plan": "Yesterday I fixed the login bug, today I'll pair with Bob on "
                            "checkout", "blockers": "blocked by staging being down"},
            escalated=True, answer=("sent to the delivery manager",)),
    Example("blocker_as_its_own_sentence", "Finish the export. Blocked on the API key.",
            fields={"plan": "Finish the export.", "blockers": "Blocked on the API key."},
            escalated=True),
    Example("blocked_by_nothing_escalates_nothing", "Ship the export, blocked by nothing",
            fields={"plan": "Ship the export, blocked by nothing", "blockers": None},
            escalated=False),
    Example("off_sick_sorry_no_blockers", "Off sick today, sorry. No blockers.",
            fields={"scheduling": "unavailable", "blockers": None},
            answer=("Scheduling: unavailable",)),
    Example("same_as_yesterday_but_still_blocked",
            "same as yesterday, but still blocked: staging is down",
            fields={"plan": PREVIOUS_PLAN, "blockers": "staging is down"}, escalated=True),
    Example("plan_with_unknown_ticket", "plan: ship it\ndone: portal#99",
            fields={"plan": "ship it", "planned_tickets": []},
            answer=("not understood", "done: portal#99", "not among your assigned tickets",
                    "portal#60", "reply with the corrected line alone")),
    Example("plan_with_unknown_scheduling_word", "plan: ship it\nscheduling: sometimes",
            fields={"plan": "ship it", "scheduling": None},
            answer=("scheduling: sometimes", "use one of: full day, part day")),
    Example("lines_fitting_no_field_are_the_comment",
            "plan: ship it\n\nAlso: the coffee machine is broken again.",
            fields={"comment": "Also: the coffee machine is broken again."},
            answer=("Your comment", "the coffee machine is broken again")),
    Example("german", "Planung: Rechnungsexport fertigstellen\nVerfügbarkeit: halber Tag\n"
            "Blocker: keine", fields={"plan": "Rechnungsexport fertigstellen",
                                      "scheduling": "part day", "blockers": None}),
    Example("german_krank", "Plan: nichts\nHeute krank", fields={"scheduling": "unavailable"}),
    Example("french", "Plan : finir l'export\nDisponibilité : demi-journée (dentiste à 15h)\n"
            "Blocages : rien", fields={"plan": "finir l'export", "scheduling": "part day",
                                       "scheduling_note": "dentiste à 15h", "blockers": None}),
    Example("spanish", "Plan: terminar la exportación\nDisponibilidad: medio día\n"
            "Bloqueos: ninguno", fields={"plan": "terminar la exportación",
                                         "scheduling": "part day", "blockers": None}),
    Example("dutch", "Planning: de export afmaken\nBeschikbaarheid: halve dag\n"
            "Blokkades: geen", fields={"plan": "de export afmaken", "scheduling": "part day",
                                       "blockers": None}),
    Example("italian", "Piano: finire l'export\nDisponibilità: mezza giornata\n"
            "Blocchi: nessuno", fields={"plan": "finire l'export", "scheduling": "part day",
                                        "blockers": None}),
    Example("portuguese", "Plano: terminar a exportação\nDisponibilidade: meio período\n"
            "Bloqueios: nenhum", fields={"plan": "terminar a exportação",
                                         "scheduling": "part day", "blockers": None}),
    Example("no_plan_is_refused_and_kept_as_draft", "scheduling: full day\n✓ portal#60",
            status="open", fields={"plan": None},
            answer=("NOT recorded", "just the missing line is enough", "plan: ",
                    "same as yesterday", "Finish the login fix", "Scheduling: full day")),
    Example("only_thanks_is_refused", "Thanks!", status="open",
            answer=("NOT recorded", "no text of yours")),
    Example("hr_commands_from_a_developer", "reviewed\nflag 1 lazy", status="open",
            fields={"flags": [], "reviewed_at": None}, answer=("HR digest command",)),
]


def _comparable(value):
    """Tickets in any order (the SUP keeps the order of the marks)."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return sorted(value, key=lambda t: (t["repo"], t["number"]))
    return value


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_example_is_read_as_meant(world, shape, example):
    sup = reopen(world.sup_id)
    raw = SHAPES[shape](world.request, example.top, example.inline, edits=example.edits)
    row = deliver(world.settings, world.folder, raw, world.clock.next())
    assert bytes(row.raw) == raw  # the raw message is kept whatever the outcome
    assert row.status == ("applied" if example.status == "submitted" else "refused"), row.reasons
    sup = Sup.get_by_id(sup.id)
    assert sup.status == example.status
    for key, value in example.fields.items():
        assert _comparable(getattr(sup, key)) == _comparable(value), key
    answer = answer_to(row)
    assert answer is not None, "every reply gets an answer"
    for piece in example.answer:
        assert piece in answer.text_body, (piece, answer.text_body)
    escalated = Effect.get_or_none(Effect.key == Keys.escalation(sup.id, row.id)) is not None
    assert escalated == example.escalated
