"""Away by mail: "away until …", "away A - B", "back", and out-of-office return dates."""

from __future__ import annotations

from datetime import date

import pytest

from mailsup import directory
from mailsup.inbound import runner
from mailsup.inbound.reading import away as reading
from mailsup.inbound.store import store_raw
from mailsup.jobs.tick import tick
from mailsup.models import InboundMessage, Leave, OutboundMessage, Person, Sup
from mailsup.outbound import sender
from mailsup.testing import at
from mailsup.testing.replies import make_reply
from tests.support.directory_samples import TWO_ZONES
from tests.support.helpers import load_directory

WED = date(2026, 11, 25)
MORNING = at("2026-11-25T07:00")  # 08:00 in Berlin


@pytest.fixture
def world(settings, tmp_path, smtp_sink):
    load_directory(tmp_path, TWO_ZONES)
    tick(settings, at("2026-11-25T05:00"))  # Alice's SUP goes out
    return settings


def request_of(sink, who="alice@example.com"):
    return next(m for m in sink.to(who) if "stand-up" in str(m["Subject"])
                and not str(m["Subject"]).startswith(("Re:", "Reminder")))


def receive(settings, raw, now=MORNING) -> InboundMessage:
    stored = store_raw(raw, "cli", now)
    runner.process_pending(settings, now)
    sender.flush(settings, now)
    return InboundMessage.get_by_id(stored.row.id)


def to_bare(sink, body, sender="Alice Smith <alice@example.com>"):
    return make_reply(request_of(sink), body, to="sup@mailsup.test", thread=False,
                      subject="away", quote=False, sender=sender)


def answers(sink, who="alice@example.com"):
    return [m for m in sink.to(who) if str(m["Subject"]).startswith(
        ("Away ", "Welcome back", "Not changed"))]


def mail_leave(email="alice@example.com"):
    person = Person.get(Person.email == email)
    return [(lv.start, lv.end) for lv in Leave.select().where(
        (Leave.person == person) & (Leave.source == "mail")).order_by(Leave.start)]


def alice_sup(day=WED) -> Sup:
    return Sup.get((Sup.developer == Person.get(Person.email == "alice@example.com"))
                   & (Sup.day == day))


# --- to the bare address -------------------------------------------------------------

def test_away_until_to_the_bare_address_sets_leave_and_confirms(world, smtp_sink, tmp_path):
    row = receive(world, to_bare(smtp_sink, "away until 2026-11-27\n\nThanks,\nAlice"))
    assert (row.status, row.kind) == ("applied", "away")
    assert mail_leave() == [(WED, date(2026, 11, 27))]
    assert (alice_sup().status, alice_sup().skip_reason) == ("skipped", "leave")
    (answer,) = answers(smtp_sink)
    assert str(answer["Subject"]) == "Away Wed 25 Nov - Fri 27 Nov: no SUP mail on those days"
    assert "from Wednesday 25 November 2026 to Friday 27 November 2026" in answer.text
    assert f"today's {alice_sup().reference} is skipped" in answer.text
    tick(world, at("2026-11-26T05:00"))
    assert alice_sup(date(2026, 11, 26)).status == "skipped"
    assert len([m for m in smtp_sink.to("alice@example.com") if "stand-up" in
                str(m["Subject"])]) == 1
    tick(world, at("2026-11-30T05:00"))  # Monday: back, SUP mail again
    assert alice_sup(date(2026, 11, 30)).status == "open"
    assert "leave=2026-11-25..2026-11-27 (set by mail)" in directory.show()
    load_directory(tmp_path, TWO_ZONES)  # a reload keeps what she set herself
    assert mail_leave() == [(WED, date(2026, 11, 27))]
    assert "leave=2026-12-01..2026-12-02" in directory.show()  # the file's own


def test_the_confirmation_goes_to_the_registered_address(world, smtp_sink):
    receive(world, to_bare(smtp_sink, "away tomorrow", sender="Alice <alice@home.example>"))
    assert mail_leave() == [(date(2026, 11, 26), date(2026, 11, 26))]
    assert len(answers(smtp_sink)) == 1 and smtp_sink.to("alice@home.example") == []
    assert alice_sup().status == "open"  # today is not part of it


# --- in a reply -----------------------------------------------------------------------

def test_away_range_in_a_reply_to_the_sup(world, smtp_sink):
    row = receive(world, make_reply(request_of(smtp_sink), "away 24 Dec - 1 Jan"))
    assert (row.status, row.kind) == ("applied", "away")
    assert mail_leave() == [(date(2026, 12, 24), date(2027, 1, 1))]
    assert alice_sup().status == "open"
    assert "Thursday 24 December 2026 to Friday 1 January 2027 (9 days" \
        in answers(smtp_sink)[0].text


def test_a_plan_and_an_away_line_in_one_reply_both_apply(world, smtp_sink):
    row = receive(world, make_reply(request_of(smtp_sink), "plan: ship it\naway tomorrow"))
    assert row.status == "applied" and row.kind == "sup_reply"
    sup = alice_sup()
    assert sup.status == "submitted" and sup.plan == "ship it"
    assert mail_leave() == [(date(2026, 11, 26), date(2026, 11, 26))]
    subjects = [str(m["Subject"]) for m in smtp_sink.to("alice@example.com")]
    assert any(s.startswith("Re:") for s in subjects) and len(answers(smtp_sink)) == 1


def test_back_ends_leave_and_reopens_todays_sup(world, smtp_sink):
    receive(world, to_bare(smtp_sink, "away until Friday"))
    assert alice_sup().status == "skipped"
    row = receive(world, to_bare(smtp_sink, "back"), now=at("2026-11-25T08:00"))
    assert (row.status, row.kind) == ("applied", "away")
    assert mail_leave() == []
    sup = alice_sup()
    assert sup.status == "open" and sup.skip_reason is None
    assert f"today's {sup.reference} is open again" in answers(smtp_sink)[-1].text
    assert OutboundMessage.select().where(OutboundMessage.sup == sup).count() == 1  # had it


def test_back_sends_the_sup_mail_that_leave_held_back(world, smtp_sink):
    bob = "Bob Jones <bob@example.com>"
    receive(world, to_bare(smtp_sink, "away until Friday", sender=bob))
    tick(world, at("2026-11-25T11:00"))  # 06:00 in New York: skipped, no mail
    sup = Sup.get(Sup.developer == Person.get(Person.email == "bob@example.com"))
    assert sup.status == "skipped" and not [
        m for m in smtp_sink.to("bob@example.com") if "stand-up" in str(m["Subject"])]
    receive(world, to_bare(smtp_sink, "back", sender=bob), now=at("2026-11-25T12:00"))
    assert Sup.get_by_id(sup.id).status == "open"
    assert [m for m in smtp_sink.to("bob@example.com") if "stand-up" in str(m["Subject"])]


def test_back_on_a_later_day_keeps_the_days_already_away(world, smtp_sink):
    receive(world, to_bare(smtp_sink, "away until Friday"))
    receive(world, to_bare(smtp_sink, "I'm back!"), now=at("2026-11-26T07:00"))
    assert mail_leave() == [(WED, WED)]


def test_a_newer_away_replaces_the_one_it_overlaps(world, smtp_sink):
    receive(world, to_bare(smtp_sink, "away 1 Dec - 10 Dec"))
    receive(world, to_bare(smtp_sink, "away from 3.12. to 4.12."))
    assert mail_leave() == [(date(2026, 12, 3), date(2026, 12, 4))]


@pytest.mark.parametrize("body, why", [
    ("away until yesterday", "yesterday, Tuesday 24 November 2026, is in the past"),
    ("away until 2030-01-01", "Tuesday 1 January 2030 is more than 90 days ahead"),
    ("away until blursday", "there is no date in it that mailsup can read"),
    ("away 10 Dec - 3 Dec", "ends (Thursday 3 December 2026) before it starts"),
    ("back", "you have no leave set by mail from today on; the directory's leave stays"),
])
@pytest.mark.parametrize("where", ["bare", "reply"])
def test_bad_input_is_answered_and_changes_nothing(world, smtp_sink, body, why, where):
    before = [(lv.start, lv.end, lv.source) for lv in Leave.select()]
    raw = to_bare(smtp_sink, body) if where == "bare" else \
        make_reply(request_of(smtp_sink), body)
    row = receive(world, raw)
    assert (row.status, row.kind) == ("refused", "away")
    assert [(lv.start, lv.end, lv.source) for lv in Leave.select()] == before
    assert alice_sup().status == "open" and alice_sup().plan is None
    (answer,) = answers(smtp_sink)
    assert str(answer["Subject"]) == f"Not changed: {body}"
    assert why in answer.text and "Nothing was changed" in answer.text


def test_a_plan_that_starts_with_away_is_a_plan(world, smtp_sink):
    row = receive(world, make_reply(request_of(smtp_sink),
                                    "Away from keyboard until noon, then the invoice export"))
    assert row.kind == "sup_reply"  # the reply's own reading decides what it says
    assert mail_leave() == [] and answers(smtp_sink) == []


# --- out-of-office replies -------------------------------------------------------------

def out_of_office(original, text, to=None):
    return make_reply(original, text, quote=False, to=to,
                      subject=f"Automatic reply: {original['Subject']}",
                      headers={"Auto-Submitted": "auto-replied"})


@pytest.mark.parametrize("text, last_day", [
    ("I am out of the office, back on Monday 30 November.", date(2026, 11, 29)),
    ("I am away until 11/27 with limited access to mail.", date(2026, 11, 27)),
    ("Ich bin bis zum 27.11. nicht im Büro.", date(2026, 11, 27)),
    ("Out of office from 25 Nov to 1 Dec; I will reply when I'm back.", date(2026, 12, 1)),
])
def test_out_of_office_return_date_sets_leave_silently(world, smtp_sink, text, last_day):
    before = len(smtp_sink.messages)
    row = receive(world, out_of_office(request_of(smtp_sink), text))
    assert (row.status, row.kind) == ("ignored", "out_of_office")
    assert mail_leave() == [(WED, last_day)]
    assert alice_sup().status == "skipped" and alice_sup().away
    assert len(smtp_sink.messages) == before  # a robot is never answered


def test_out_of_office_without_a_usable_date_only_marks_the_sup_away(world, smtp_sink):
    row = receive(world, out_of_office(request_of(smtp_sink), "Back on 1 January 2030."))
    assert mail_leave() == [] and alice_sup().away and alice_sup().status == "open"
    assert any("return date is not used" in r for r in row.reasons)


def test_out_of_office_to_a_digests_bounce_address_sets_leave(world, smtp_sink):
    tick(world, at("2026-11-25T09:30"))  # Alice's team digest, 10:30 in Berlin
    digest = next(m for m in smtp_sink.to("alice@example.com") if "plans for" in
                  str(m["Subject"]))
    row = receive(world, out_of_office(digest, "Back on Friday.", to=digest.mail_from),
                  now=at("2026-11-25T09:40"))
    assert row.kind == "out_of_office" and mail_leave() == [(WED, date(2026, 11, 26))]


# --- reading the dates (no database) -----------------------------------------------------

TODAY = date(2026, 12, 1)  # a Tuesday


@pytest.mark.parametrize("line, span", [
    ("away until 2026-12-07", (TODAY, date(2026, 12, 7))),
    ("away 24 Dec - 1 Jan", (date(2026, 12, 24), date(2027, 1, 1))),
    ("away 2026-12-24 - 2027-01-01", (date(2026, 12, 24), date(2027, 1, 1))),
    ("away from 24.12. to 1.1.", (date(2026, 12, 24), date(2027, 1, 1))),
    ("Away until Monday, 7 December", (TODAY, date(2026, 12, 7))),
    ("away until December 7th, 2026", (TODAY, date(2026, 12, 7))),
    ("away until 12/07", (TODAY, date(2026, 12, 7))),
    ("away bis zum 7.12.", (TODAY, date(2026, 12, 7))),
    ("away tomorrow", (date(2026, 12, 2), date(2026, 12, 2))),
    ("away on Friday", (date(2026, 12, 4), date(2026, 12, 4))),
    ("I'm away for 3 days.", (TODAY, date(2026, 12, 3))),
    ("away until yesterday", (TODAY, date(2026, 11, 30))),  # read, then refused as past
])
def test_away_commands_are_read(line, span):
    command = reading.command(line, TODAY)
    assert command.kind == "away" and (command.span.start, command.span.end) == span


@pytest.mark.parametrize("line, kind", [
    ("back", "back"), ("I'm back!", "back"), ("back now", "back"),
    ("away until blursday", "unreadable"), ("away", "unreadable"),
    ("plan: ship it", None), ("background work on the importer", None),
])
def test_other_lines(line, kind):
    command = reading.command(line, TODAY)
    assert (command.kind if command else None) == kind


@pytest.mark.parametrize("text, end", [
    ("I am out of the office, back on Monday 7 December.", date(2026, 12, 6)),
    ("I will return on 7 December 2026.", date(2026, 12, 6)),
    ("Away until 12/07 with limited access.", date(2026, 12, 7)),
    ("Ich bin bis zum 7.12. nicht im Büro.", date(2026, 12, 7)),
    ("Ab 8.12. bin ich wieder erreichbar.", date(2026, 12, 7)),
    ("Je suis de retour le 7 décembre.", date(2026, 12, 6)),
    ("Out from 24 Dec to 1 Jan.", date(2027, 1, 1)),
    ("I am out of the office until Monday.", date(2026, 12, 7)),
    ("I am on vacation.", None),
])
def test_out_of_office_dates_are_read(text, end):
    span = reading.out_of_office_span(text, TODAY)
    assert (span.end if span else None) == end
