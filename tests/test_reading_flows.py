"""What happens around a reply that was read (design §5), on SQLite and PostgreSQL.

A refused reply is kept as a draft that a reply with just the missing line
completes (over real SMTP); a later reply merges field by field; what fits no
field is the developer's comment, shown in the receipt, `sup show --json` and
HR's digest; bad input gets a clear answer and the raw message is kept.
"""

from __future__ import annotations

import asyncio
import json

import aiosmtplib
import pytest

from mailsup.inbound import runner
from mailsup.inbound.doors.smtp import make_controller
from mailsup.inbound.reading import words
from mailsup.jobs.tick import tick
from mailsup.models import Effect, InboundMessage, Sup
from mailsup.outbound import sender
from mailsup.testing import at, free_port
from tests.support import reading_world as rw
from tests.support.client_shapes import SHAPES, apple_mail, gmail, outlook_html
from tests.support.world import mailsup_argv, run


@pytest.fixture
def world(make_settings, smtp_sink, github_double, tmp_path):
    rw.setup_github(github_double)
    settings = make_settings(smtp_sink.port, extra=rw.INI.format(url=github_double.base_url))
    sup = rw.start(settings, tmp_path, smtp_sink)
    return rw.World(settings, smtp_sink, tmp_path, sup.id, rw.Clock())


def _smtp(world, raw: bytes) -> InboundMessage:
    """One reply through mailsup's own SMTP listener, then the pipeline and the outbox."""
    port, now = free_port(), world.clock.next()
    controller = make_controller(world.settings, clock=lambda: now, listen=f"127.0.0.1:{port}")
    controller.start()
    try:
        rcpt = world.request.message["Reply-To"].addresses[0].addr_spec
        errors, _ = asyncio.run(aiosmtplib.send(raw, hostname="127.0.0.1", port=port,
                                                sender="alice@example.com", recipients=[rcpt]))
        assert errors == {}
    finally:
        controller.stop()
    runner.process_pending(world.settings, now)
    sender.flush(world.settings, now)
    return InboundMessage.select().order_by(InboundMessage.id.desc()).first()


def _escalations(sup: Sup) -> int:
    return Effect.select().where((Effect.kind == "escalation") & (Effect.sup == sup)).count()


def test_refused_reply_is_kept_and_just_the_plan_completes_it_over_smtp(world):
    first = _smtp(world, gmail(world.request, "scheduling: part day (dentist at 15:00)\n"
                                              "✓ portal#60\nblockers: waiting for staging"))
    sup = Sup.get_by_id(world.sup_id)
    assert first.status == "refused" and sup.status == "open" and sup.plan is None
    assert sup.draft["fields"]["scheduling_note"] == "dentist at 15:00"
    assert _escalations(sup) == 0  # nothing is sent on for a reply that was not recorded
    refusal = rw.answer_to(first).text_body
    for piece in ("NOT recorded", "just the missing line is enough", "Scheduling: part day "
                  "(dentist at 15:00)", "portal#60 Checkout page (expect done)",
                  "same as yesterday", "Review Bob's PR"):
        assert piece in refusal, piece

    fixed = _smtp(world, outlook_html(world.request, "plan: ship the invoice export"))
    sup = Sup.get_by_id(world.sup_id)
    assert fixed.status == "applied" and sup.status == "submitted" and sup.draft is None
    assert (sup.plan, sup.scheduling, sup.scheduling_note, sup.blockers) == (
        "ship the invoice export", "part day", "dentist at 15:00", "waiting for staging")
    assert [t["number"] for t in sup.planned_tickets] == [60]
    assert _escalations(sup) == 1  # the draft's blockers go out with the fixing reply
    receipt = rw.answer_to(fixed).text_body
    assert "together with what your earlier reply said" in receipt
    assert "waiting for staging" in receipt


def test_a_later_reply_merges_field_by_field(world):
    rw.deliver(world.settings, world.folder, gmail(
        world.request, "plan: ship it\nscheduling: full day\nblockers: VPN down\n✓ portal#60"),
        world.clock.next())
    later = rw.deliver(world.settings, world.folder, apple_mail(
        world.request, "Half day, leaving at 14:00\nportal#45 - still working on it"),
        world.clock.next())
    sup = Sup.get_by_id(world.sup_id)
    assert (sup.plan, sup.scheduling, sup.scheduling_note, sup.blockers) == (
        "ship it", "part day", "leaving at 14:00", "VPN down")
    assert {(t["number"], t["expect_done"]) for t in sup.planned_tickets} == {(60, True),
                                                                             (45, False)}
    assert _escalations(sup) == 1  # the same blockers are not escalated again
    receipt = rw.answer_to(later).text_body
    assert "it changed scheduling and tickets; plan and blockers stay as before" in receipt
    Sup.update(status="reviewed").where(Sup.id == sup.id).execute()
    amended = rw.deliver(world.settings, world.folder, outlook_html(
        world.request, "blockers: none"), world.clock.next())
    sup = Sup.get_by_id(world.sup_id)
    assert sup.blockers == "VPN down" and sup.status == "reviewed"
    assert sup.amendments[-1]["fields"]["plan"] == "ship it"
    assert sup.amendments[-1]["fields"]["blockers"] is None
    assert "amendment" in rw.answer_to(amended).text_body


def test_lines_fitting_no_field_are_the_comment_everywhere(world, smtp_sink):
    row = rw.deliver(world.settings, world.folder, gmail(
        world.request, "plan: ship it\nscheduling: part day (dentist at 15:00)\n\n"
                       "FYI the coffee machine is broken again."), world.clock.next())
    sup = Sup.get_by_id(world.sup_id)
    assert sup.comment == "FYI the coffee machine is broken again."
    assert "FYI the coffee machine" in rw.answer_to(row).text_body
    shown = run(mailsup_argv(world.settings.path, "sup", "show", str(sup.id), "--json"))
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["comment"] == "FYI the coffee machine is broken again."
    assert data["scheduling_note"] == "dentist at 15:00"
    tick(world.settings, at("2026-11-25T10:00"))  # HR's digest (11:00 Berlin)
    (digest,) = [m for m in smtp_sink.to("hana@example.com") if "to review" in str(m["Subject"])]
    assert "FYI the coffee machine is broken again." in digest.text
    assert "part day (dentist at 15:00)" in digest.text
    tick(world.settings, at("2026-11-25T10:30"))  # the team digest: the note, not the comment
    (team,) = [m for m in smtp_sink.to("dan@example.com") if "plans for" in str(m["Subject"])]
    assert "part day (dentist at 15:00)" in team.text and "coffee" not in team.text


# --- bad input ----------------------------------------------------------------

@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_one_megabyte_reply_is_read_up_to_a_limit(world, shape):
    log = "".join(f"2026-11-25 06:{i % 60:02d}:00 INFO worker {i} finished a job\n"
                  for i in range(22_000))
    raw = SHAPES[shape](world.request, f"plan: read the logs below\n\n{log}")
    assert len(raw) > 1_000_000
    row = rw.deliver(world.settings, world.folder, raw, world.clock.next())
    assert row.status == "applied" and bytes(row.raw) == raw, row.reasons
    sup = Sup.get_by_id(world.sup_id)
    assert sup.plan == "read the logs below" and len(sup.comment) < 70_000
    receipt = rw.answer_to(row).text_body
    assert "longer than the 64,000 characters that are read" in receipt
    assert "the whole message is kept" in receipt and len(receipt) < 20_000


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_reply_that_is_only_a_signature_is_answered(world, shape):
    row = rw.deliver(world.settings, world.folder, SHAPES[shape](
        world.request, "-- \nAlice Smith\nSenior Engineer | Acme Corp"), world.clock.next())
    assert row.status == "refused" and row.reasons == [words.PLAN_MISSING]
    refusal = rw.answer_to(row).text_body
    assert "NOT recorded" in refusal and "no text of yours" in refusal
    assert Sup.get_by_id(world.sup_id).status == "open"


@pytest.mark.parametrize("text", [
    "Suunnitelma: viimeistellä laskutusvienti\nAikataulu: koko päivä\nEsteet: ei mitään",
    "今日は請求書のエクスポートを仕上げます。",
    "Σήμερα: τελειώνω την εξαγωγή τιμολογίων",
])
def test_a_reply_in_an_unknown_language_is_taken_as_the_plan_and_said_so(world, text):
    row = rw.deliver(world.settings, world.folder, outlook_html(world.request, text),
                     world.clock.next())
    assert row.status == "applied" and bytes(row.raw)
    assert Sup.get_by_id(world.sup_id).plan == text
    receipt = rw.answer_to(row).text_body
    assert "without a label as your plan" in receipt and 'reply with just the line "plan:' \
        in receipt
