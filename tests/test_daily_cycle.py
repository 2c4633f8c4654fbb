"""The walking skeleton end to end: directory → tick → outbox → real SMTP sink."""

from __future__ import annotations

import pytest

from mailsup import tokens
from mailsup.jobs.tick import tick
from mailsup.models import OutboundMessage, Sup
from mailsup.testing import at
from tests.support.directory_samples import TWO_ZONES
from tests.support.helpers import load_directory


@pytest.fixture
def world(settings, tmp_path, smtp_sink):
    load_directory(tmp_path, TWO_ZONES)
    return settings


def sup_mails(sink, address):
    return [m for m in sink.to(address) if "stand-up" in str(m["Subject"])
            and not str(m["Subject"]).startswith("Reminder")]


@pytest.mark.parametrize("day, berlin_utc, newyork_utc", [
    ("2026-11-25", "05:00", "11:00"),  # both on standard time
    ("2026-03-18", "05:00", "10:00"),  # New York already on summer time, Berlin not
    ("2026-10-28", "05:00", "10:00"),  # Berlin back on standard time, New York not yet
    ("2026-06-17", "04:00", "10:00"),  # both on summer time
])
def test_sup_arrives_at_local_six_and_not_before(world, smtp_sink, day, berlin_utc,
                                                 newyork_utc):
    h, m = map(int, berlin_utc.split(":"))
    tick(world, at(f"{day}T{h - 1:02d}:59"))
    assert smtp_sink.messages == []
    tick(world, at(f"{day}T{berlin_utc}"))
    assert len(sup_mails(smtp_sink, "alice@example.com")) == 1
    assert sup_mails(smtp_sink, "bob@example.com") == []
    h, m = map(int, newyork_utc.split(":"))
    tick(world, at(f"{day}T{h - 1:02d}:59"))
    assert sup_mails(smtp_sink, "bob@example.com") == []
    tick(world, at(f"{day}T{newyork_utc}"))
    assert len(sup_mails(smtp_sink, "bob@example.com")) == 1
    assert len(sup_mails(smtp_sink, "alice@example.com")) == 1


@pytest.mark.parametrize("instant, who", [
    ("2026-11-28T12:00", []),  # Saturday
    ("2026-11-29T18:00", []),  # Sunday
    ("2026-11-26T16:00", ["alice@example.com"]),  # US Thanksgiving: Bob is off
    ("2026-05-01T16:00", ["bob@example.com"]),  # German Labour Day: Alice is off
    ("2026-12-01T16:00", ["bob@example.com"]),  # Alice on leave
    ("2026-12-25T16:00", []),  # Christmas in both countries
])
def test_no_sup_on_weekends_holidays_or_leave(world, smtp_sink, instant, who):
    tick(world, at(instant))
    got = sorted({r for m in smtp_sink.messages for r in m.rcpt_tos
                  if "stand-up" in str(m["Subject"])})
    assert got == who


def test_holiday_and_leave_are_recorded_as_skipped(world):
    tick(world, at("2026-12-01T16:00"))
    alice = Sup.get(Sup.developer_id == 1)
    assert alice.status == "skipped" and alice.skip_reason == "leave"
    assert OutboundMessage.select().where(OutboundMessage.sup == alice).count() == 0


def test_three_ticks_at_the_same_instant_send_one_mail(world, smtp_sink):
    for _ in range(3):
        tick(world, at("2026-11-25T05:00"))
    assert len(smtp_sink.messages) == 1
    assert Sup.select().count() == 1


def test_nag_goes_once_and_threads_to_the_sup(world, smtp_sink):
    tick(world, at("2026-11-25T05:00"))
    tick(world, at("2026-11-25T08:29"))
    assert len(smtp_sink.to("alice@example.com")) == 1
    for _ in range(3):
        tick(world, at("2026-11-25T08:30"))
    tick(world, at("2026-11-25T09:45"))
    # Her team digest (10:30 Berlin) is another mail: not about this SUP.
    mails = [m for m in smtp_sink.to("alice@example.com") if "plans for" not in str(m["Subject"])]
    assert len(mails) == 2
    request, nag = mails
    assert str(nag["Subject"]).startswith("Reminder")
    assert nag["In-Reply-To"] == request["Message-ID"]
    assert nag["Reply-To"] == request["Reply-To"]


def test_no_nag_for_a_late_created_sup_in_the_same_tick(world, smtp_sink):
    # The service was down all morning: the SUP goes out late, without its reminder.
    tick(world, at("2026-11-25T10:00"))
    assert [str(m["Subject"]).startswith("Reminder") for m in smtp_sink.to(
        "alice@example.com") if "stand-up" in str(m["Subject"])] == [False]


def test_relay_down_loses_nothing_and_sends_once_when_back(world, smtp_sink):
    smtp_sink.stop()
    report = tick(world, at("2026-11-25T05:00"))
    assert report.sent == 0 and report.retrying == 1
    row = OutboundMessage.get()
    assert row.status == "pending" and row.attempts == 1 and "relay" in row.last_error
    smtp_sink.start()
    tick(world, at("2026-11-25T05:00:30"))  # before the backoff: nothing yet
    assert smtp_sink.messages == []
    tick(world, at("2026-11-25T05:02"))
    tick(world, at("2026-11-25T05:03"))
    assert len(smtp_sink.messages) == 1
    assert OutboundMessage.get().status == "sent"


def test_mail_headers_and_alternatives(world, smtp_sink):
    tick(world, at("2026-11-25T05:00"))
    (mail,) = smtp_sink.messages
    sup = Sup.get()
    assert mail["Auto-Submitted"] == "auto-generated"
    assert f"[SUP {sup.id}]" in str(mail["Subject"])
    assert mail["Message-ID"] == OutboundMessage.get().message_id
    assert mail.message.get_content_type() == "multipart/alternative"
    assert "## By next business day" in mail.text and "Plan (required)" in mail.text
    assert "<h2" in mail.html
    bounce_token = tokens.token_from_address(world.reply_address, mail.mail_from)
    sent = OutboundMessage.get()
    assert tokens.verify(world.secret, bounce_token) == tokens.Token(
        "b", sent.id, sent.created_at.date())  # tokens carry their day (issue 14)
    reply_to = mail.message["Reply-To"].addresses[0].addr_spec
    token = tokens.token_from_address(world.reply_address, reply_to)
    assert tokens.verify(world.secret, token) == tokens.Token("s", sup.id, sup.day)
    assert "mailsup does not read GitHub for your team" in mail.text
    assert "[github]" not in mail.text and "token" not in mail.text


def test_token_verifies_and_any_changed_character_fails():
    token = tokens.sign("secret", "s", 42)
    assert tokens.verify("secret", token) == tokens.Token("s", 42)
    assert tokens.verify("secret", token.upper()) == tokens.Token("s", 42)
    for i, ch in enumerate(token):
        for replacement in "a7":
            if ch == replacement:
                continue
            changed = token[:i] + replacement + token[i + 1:]
            assert tokens.verify("secret", changed) is None, changed
    assert tokens.verify("other-secret", token) is None
    assert tokens.verify("secret", tokens.sign("secret", "s", 43).replace("s43", "s42")) is None
    assert len(tokens.reply_address("sup@example.com", token).split("@")[0]) <= 64


def test_window_starts_one_business_day_back(world):
    tick(world, at("2026-11-23T05:00"))  # Monday
    sup = Sup.get()
    # Previous business day of a Monday is Friday, 06:00 Berlin = 05:00Z.
    assert str(sup.window_start) == "2026-11-20 05:00:00"


def test_a_persons_first_sup_mail_says_what_mailsup_is_and_who_set_it_up(
        make_settings, smtp_sink, tmp_path):
    world = make_settings(smtp_sink.port,
                          mailsup_extra="operator = the Acme delivery team (ops@acme.example)")
    load_directory(tmp_path, TWO_ZONES)
    tick(world, at("2026-11-25T05:00"))
    tick(world, at("2026-11-26T05:00"))
    first, second = sup_mails(smtp_sink, "alice@example.com")
    line = ("New to mailsup? It is Acme Corp's stand-up by email, set up for your team by "
            "the Acme delivery team (ops@acme.example): one short reply a day.")
    assert line in first.text.splitlines()
    assert "New to mailsup?" in first.html and "the Acme delivery team" in first.html
    assert "New to mailsup?" not in second.text and "New to mailsup?" not in second.html
    # The button writes to the SUP's own signed address, with "plan: " to start from.
    reply_to = first.message["Reply-To"].addresses[0].addr_spec
    assert f'href="mailto:{reply_to}?subject=Re%3A%20' in first.html
    assert "&amp;body=plan%3A%20" in first.html


def test_without_an_operator_the_first_mail_names_nobody(world, smtp_sink):
    tick(world, at("2026-11-25T05:00"))
    (mail,) = sup_mails(smtp_sink, "alice@example.com")
    assert "New to mailsup? It is Acme Corp's stand-up by email: one short reply a day." \
        in mail.text.splitlines()
