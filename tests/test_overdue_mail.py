"""Overdue reviews by mail where no GitHub issue can say so: no token, or GitHub failing."""

from __future__ import annotations

import pytest

from mailsup.inbound import runner
from mailsup.inbound.store import store_raw
from mailsup.jobs.tick import tick
from mailsup.models import Effect, OutboundMessage, Sup
from mailsup.outbound import sender
from mailsup.testing import at
from mailsup.testing.replies import make_reply
from tests.support.directory_samples import TWO_ZONES
from tests.support.helpers import load_directory


def submit(settings, sink, who, body, now):
    request = next(m for m in sink.to(who) if "stand-up" in str(m["Subject"])
                   and not str(m["Subject"]).startswith(("Re:", "Reminder")))
    store_raw(make_reply(request, body, sender=f"Someone <{who}>"), "cli", now)
    runner.process_pending(settings, now)
    sender.flush(settings, now)


def overdue_mails():
    return list(OutboundMessage.select().where(OutboundMessage.kind == "overdue_reviews")
                .order_by(OutboundMessage.id))


@pytest.fixture
def no_github(make_settings, smtp_sink, tmp_path):
    settings = make_settings(smtp_sink.port, mailsup_extra="management = boss@example.com")
    load_directory(tmp_path, TWO_ZONES)
    tick(settings, at("2026-11-25T05:00"))  # Alice (Berlin)
    submit(settings, smtp_sink, "alice@example.com", "plan: ship login", at("2026-11-25T07:10"))
    tick(settings, at("2026-11-25T11:00"))  # Bob (New York)
    submit(settings, smtp_sink, "bob@example.com", "plan: ship search", at("2026-11-25T12:00"))
    return settings


def test_without_a_token_overdue_sups_go_to_hr_and_management_once(no_github, smtp_sink):
    tick(no_github, at("2026-11-26T07:10"))  # Alice's SLA passed, before HR's digest time
    assert overdue_mails() == []
    for minute in ("10:00", "10:01", "12:30"):  # 11:00 in Berlin, then Bob's SLA passes
        tick(no_github, at(f"2026-11-26T{minute}"))
    (first,) = overdue_mails()
    alice, bob = Sup.select().order_by(Sup.id)[:2]  # Wednesday's
    assert first.recipients == ["boss@example.com", "hana@example.com"]
    assert f"{alice.reference} Alice Smith" in first.text_body
    assert bob.reference not in first.text_body  # not overdue yet at 10:00
    assert f"reviewed {alice.id}" in first.text_body
    tick(no_github, at("2026-11-27T10:00"))  # the next day: Bob's, and only Bob's
    second = overdue_mails()[1]
    assert bob.reference in second.text_body and alice.reference not in second.text_body
    tick(no_github, at("2026-11-28T10:00"))
    assert len(overdue_mails()) == 2  # each SUP once
    relayed = [m for m in smtp_sink.messages if "overdue" in str(m["Subject"])]
    assert [sorted(m.rcpt_tos) for m in relayed] == [["boss@example.com",
                                                      "hana@example.com"]] * 2


def test_a_reviewed_sup_is_never_listed(no_github):
    Sup.update(status="reviewed").execute()
    tick(no_github, at("2026-11-27T10:00"))
    assert overdue_mails() == []


@pytest.fixture
def github_down(make_settings, smtp_sink, tmp_path, github_double):
    github_double.add_repo("acme/hr")
    settings = make_settings(smtp_sink.port, extra=f"""
        [github]
        token = test-token
        base_url = {github_double.base_url}
        """)
    load_directory(tmp_path, TWO_ZONES)
    tick(settings, at("2026-11-25T05:00"))
    submit(settings, smtp_sink, "alice@example.com", "plan: ship login", at("2026-11-25T07:10"))
    github_double.set_down("refused")
    return settings


def test_github_failing_for_a_day_sends_the_mail_instead(github_down, github_double):
    tick(github_down, at("2026-11-26T07:10"))  # the issue cannot be opened
    effect = Effect.get(Effect.kind == "overdue")
    assert not effect.data.get("number")
    tick(github_down, at("2026-11-26T10:00"))  # failing less than a day: no mail yet
    assert overdue_mails() == []
    tick(github_down, at("2026-11-27T10:00"))  # a day of failures: HR hears by mail
    (mail,) = overdue_mails()
    assert mail.recipients == ["hana@example.com"] and "SUP 1" in mail.text_body
    github_double.set_down(None)
    tick(github_down, at("2026-11-27T10:10"))  # GitHub back: the issue is opened too
    assert github_double.repos["acme/hr"].issues and len(overdue_mails()) == 1


def test_with_github_working_no_mail(github_down, github_double):
    github_double.set_down(None)
    for instant in ("2026-11-26T07:10", "2026-11-26T10:00", "2026-11-27T10:00"):
        tick(github_down, at(instant))
    assert len(github_double.repos["acme/hr"].issues) == 1 and overdue_mails() == []
