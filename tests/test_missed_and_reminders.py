"""Missed SUPs and late answers, one reminder a day, and one clock for a simulated day."""

from __future__ import annotations

import json
from datetime import date

import pytest

from mailsup.cli import main
from mailsup.inbound import runner
from mailsup.inbound.store import store_raw
from mailsup.jobs.tick import tick
from mailsup.models import Effect, OutboundMessage, Person, Sup
from mailsup.outbound import sender
from mailsup.testing import at
from mailsup.testing.replies import make_reply
from tests.support.directory_samples import TWO_ZONES
from tests.support.helpers import load_directory

# Bob (New York) works for two clients: two SUPs a day, one reminder, one team digest.
TWO_CLIENTS = TWO_ZONES + """
[[clients]]
slug = "globex"
name = "Globex"
orgs = ["globex"]
hr = "hana@example.com"

[[teams]]
org = "globex"
slug = "app"
name = "App"
members = ["bob@example.com"]
delivery_manager = "dan@example.com"
"""


@pytest.fixture
def world(settings, tmp_path, smtp_sink):
    load_directory(tmp_path, TWO_CLIENTS)
    return settings


def bob_sups(day=date(2026, 11, 25)) -> list[Sup]:
    bob = Person.get(Person.email == "bob@example.com")
    return list(Sup.select().where((Sup.developer == bob) & (Sup.day == day)).order_by(Sup.id))


def receive(settings, raw, now):
    stored = store_raw(raw, "cli", now)
    runner.process_pending(settings, now)
    sender.flush(settings, now)
    return stored.row


def request_for(sink, sup: Sup):
    return next(m for m in sink.to(sup.developer.email)
                if f"[{sup.reference}]" in str(m["Subject"])
                and not str(m["Subject"]).startswith(("Re:", "Reminder")))


def cli(ini, *args, capsys) -> tuple[int, str]:
    code = main(["--config", str(ini), *args])
    return code, capsys.readouterr().out


# --- missed and late ------------------------------------------------------------------

def test_an_open_sup_is_missed_when_its_local_day_ends(world, capsys):
    tick(world, at("2026-11-25T11:00"))  # Bob's 06:00 in New York
    tick(world, at("2026-11-26T04:59"))  # 23:59 in New York
    assert {s.status for s in bob_sups()} == {"open"}
    tick(world, at("2026-11-26T05:00"))
    assert {s.status for s in bob_sups()} == {"missed"}
    missed = Effect.select().where((Effect.kind == "missed")
                                   & Effect.sup.in_([s.id for s in bob_sups()]))
    assert missed.count() == 2
    tick(world, at("2026-11-26T05:01"))  # a second tick finds nothing to do
    assert missed.count() == 2
    code, out = cli(world.path, "sup", "list", "--status", "missed", "--json", capsys=capsys)
    assert code == 0
    assert sorted((s["developer"], s["client"], s["late"]) for s in json.loads(out)
                  if s["developer"] == "bob@example.com") == [
        ("bob@example.com", "acme", False), ("bob@example.com", "globex", False)]


def test_a_late_reply_still_submits_it_marked_late(world, smtp_sink, capsys):
    tick(world, at("2026-11-25T11:00"))
    tick(world, at("2026-11-26T05:00"))
    missed = bob_sups()[0]
    receive(world, make_reply(request_for(smtp_sink, missed), "plan: catch up",
                                    sender="Bob <bob@example.com>"), at("2026-11-26T06:00"))
    sup = Sup.get_by_id(missed.id)
    assert (sup.status, sup.late, sup.plan) == ("submitted", True, "catch up")
    code, out = cli(world.path, "sup", "show", str(sup.id), capsys=capsys)
    assert "[submitted, late]" in out


def test_an_away_sup_is_skipped_not_missed(world, smtp_sink):
    tick(world, at("2026-11-25T11:00"))
    first = bob_sups()[0]
    receive(world, make_reply(request_for(smtp_sink, first), "I am on vacation.",
                              sender="Bob <bob@example.com>", quote=False,
                              subject="Automatic reply: stand-up",
                              headers={"Auto-Submitted": "auto-replied"}), at("2026-11-25T12:00"))
    tick(world, at("2026-11-26T05:00"))
    first, second = bob_sups()
    assert (first.status, first.skip_reason) == ("skipped", "away (out-of-office reply)")
    assert second.status == "missed"


# --- one reminder a day -----------------------------------------------------------------

def test_one_reminder_lists_every_open_sup_with_its_own_address(world, smtp_sink):
    tick(world, at("2026-11-25T11:00"))
    for minute in ("14:29", "14:30", "14:31", "15:30"):
        tick(world, at(f"2026-11-25T{minute}"))
    reminders = [m for m in smtp_sink.to("bob@example.com")
                 if str(m["Subject"]).startswith("Reminder")]
    assert len(reminders) == 1
    (reminder,) = reminders
    assert str(reminder["Subject"]) == "Reminder: 2 SUPs open (Acme Corp, Globex) for Wed 25 Nov"
    assert reminder["Reply-To"] is None  # each SUP is answered at its own address
    acme, globex = bob_sups()
    for sup in (acme, globex):
        address = request_for(smtp_sink, sup)["Reply-To"].addresses[0].addr_spec
        assert f"{sup.reference} {sup.client.name}: {address}" in reminder.text
        assert f"mailto:{address}" in reminder.html
    assert Effect.select().where((Effect.kind == "nag") & Effect.sup.in_(
        [acme.id, globex.id])).count() == 2
    # Answering one address submits that SUP only.
    address = request_for(smtp_sink, globex)["Reply-To"].addresses[0].addr_spec
    receive(world, make_reply(reminder, "plan: globex things", to=address, thread=False,
                              sender="Bob <bob@example.com>"), at("2026-11-25T15:40"))
    assert [s.status for s in bob_sups()] == ["open", "submitted"]


def test_no_reminder_before_the_sup_mail_itself_was_sent(world, smtp_sink):
    """Issue 16: a SUP mail stuck in the outbox gets no reminder ahead of it."""
    smtp_sink.stop()
    tick(world, at("2026-11-25T05:00"))  # Alice's SUP, relay down
    tick(world, at("2026-11-25T08:30"))  # her nag time
    assert OutboundMessage.select().where(OutboundMessage.kind == "nag").count() == 0
    smtp_sink.start()
    tick(world, at("2026-11-25T09:00"))  # the SUP mail goes out now
    tick(world, at("2026-11-25T09:59"))
    assert OutboundMessage.select().where(OutboundMessage.kind == "nag").count() == 0
    tick(world, at("2026-11-25T10:00"))  # an hour after it really went out
    (nag,) = OutboundMessage.select().where(OutboundMessage.kind == "nag")
    request = OutboundMessage.get(OutboundMessage.kind == "sup_request")
    assert request.sent_at <= nag.created_at
    subjects = [str(m["Subject"]) for m in smtp_sink.to("alice@example.com")]
    assert subjects.index(next(s for s in subjects if s.startswith("Reminder"))) > \
        subjects.index(next(s for s in subjects if "stand-up" in s and "Reminder" not in s))


def test_one_team_digest_per_person_per_day_for_all_their_teams(world, smtp_sink):
    tick(world, at("2026-11-25T11:00"))
    for hour in ("15:29", "15:30", "15:31", "18:00"):  # 10:30 in New York
        tick(world, at(f"2026-11-25T{hour}"))
    (digest,) = [m for m in smtp_sink.to("bob@example.com") if "plans" in str(m["Subject"])]
    assert digest.rcpt_tos == ["bob@example.com"]
    assert "Platform (Acme Corp) on Wednesday 25 November 2026" in digest.text
    assert "App (Globex) on Wednesday 25 November 2026" in digest.text
    dan = [m for m in smtp_sink.to("dan@example.com") if "plans" in str(m["Subject"])]
    assert len(dan) == 1  # Dan leads both teams: one mail too


# --- one clock ------------------------------------------------------------------------------

def test_inbound_deliver_now_and_tick_now_share_one_clock(world, smtp_sink, tmp_path, capsys):
    assert cli(world.path, "tick", "--now", "2026-11-25T05:00:00Z", capsys=capsys)[0] == 0
    alice = Sup.get()
    reply = tmp_path / "reply.eml"
    reply.write_bytes(make_reply(request_for(smtp_sink, alice), "plan: on the simulated clock"))
    code, _out = cli(world.path, "inbound", "deliver", str(reply), "--now",
                     "2026-11-25T07:15:00Z", capsys=capsys)
    assert code == 0
    sup = Sup.get_by_id(alice.id)
    assert sup.status == "submitted" and str(sup.submitted_at) == "2026-11-25 07:15:00"


def test_no_sup_is_submitted_before_it_was_created(world, smtp_sink, tmp_path, capsys):
    """A reply through a door on another clock (the real one, say) is dated no earlier
    than the SUP it answers."""
    tick(world, at("2026-11-25T05:00"))
    alice = Sup.get()
    raw = make_reply(request_for(smtp_sink, alice), "plan: answered from the past")
    receive(world, raw, at("2026-11-24T20:00"))
    sup = Sup.get_by_id(alice.id)
    assert sup.status == "submitted" and sup.submitted_at == sup.created_at


def test_mail_stored_by_a_door_is_applied_on_the_ticks_clock(world, smtp_sink):
    tick(world, at("2026-11-25T05:00"))
    alice = Sup.get()
    store_raw(make_reply(request_for(smtp_sink, alice), "plan: stored at any time"), "smtp",
              at("2026-11-20T00:00"))  # the door's own clock
    tick(world, at("2026-11-25T06:30"))
    assert str(Sup.get_by_id(alice.id).submitted_at) == "2026-11-25 06:30:00"
