"""HR digests and commands, team digest, overdue-review issues and Slack nudges."""

from __future__ import annotations

import pytest

from mailsup.github.issues import ensure_overdue_issue
from mailsup.inbound import runner
from mailsup.inbound.store import store_raw
from mailsup.jobs.tick import tick
from mailsup.models import Effect, Sup
from mailsup.outbound import sender
from mailsup.testing import at
from mailsup.testing.replies import make_reply
from tests.support.directory_samples import TWO_ZONES
from tests.support.helpers import load_directory

DIRECTORY = TWO_ZONES.replace('github = "hana-hr"', 'github = "hana-hr"\nslack = "U0HANA"')


@pytest.fixture
def world(make_settings, smtp_sink, github_double, slack_double, tmp_path):
    github_double.add_repo("acme/api")
    github_double.add_repo("acme/hr")
    settings = make_settings(smtp_sink.port, extra=f"""
        [github]
        token = test-token
        base_url = {github_double.base_url}

        [slack]
        token = {slack_double.token}
        base_url = {slack_double.base_url}
        """)
    load_directory(tmp_path, DIRECTORY)
    tick(settings, at("2026-11-25T05:00"))  # Alice (Berlin)
    tick(settings, at("2026-11-25T07:00"))
    return settings


def request_of(sink, who):
    return [m for m in sink.to(who) if "stand-up" in str(m["Subject"])
            and not str(m["Subject"]).startswith(("Re:", "Reminder"))][-1]


def deliver(settings, raw, now):
    store_raw(raw, "cli", now)
    result = runner.process_pending(settings, now)
    sender.flush(settings, now)
    return result


def submit(settings, sink, who, sender_header, body, now):
    return deliver(settings, make_reply(request_of(sink, who), body, sender=sender_header), now)


def digests(sink):
    return [m for m in sink.to("hana@example.com") if "to review" in str(m["Subject"])
            and not str(m["Subject"]).startswith("Re:")]


@pytest.fixture
def submitted(world, smtp_sink):
    submit(world, smtp_sink, "alice@example.com", "Alice <alice@example.com>",
           "plan: ship login\nblockers: waiting on design", at("2026-11-25T07:10"))
    tick(world, at("2026-11-25T08:00"))
    return world


def test_hr_digest_once_per_day_with_new_marks(submitted, smtp_sink):
    tick(submitted, at("2026-11-25T09:59"))
    assert digests(smtp_sink) == []
    tick(submitted, at("2026-11-25T10:00"))  # 11:00 in Berlin
    tick(submitted, at("2026-11-25T10:05"))
    (digest,) = digests(smtp_sink)
    assert "[NEW]" in digest.text and "ship login" in digest.text
    assert "waiting on design" in digest.text
    assert digest["Reply-To"] is not None


def test_no_digest_when_nothing_to_review(world, smtp_sink):
    tick(world, at("2026-11-25T10:00"))
    assert digests(smtp_sink) == []


def reply_to_digest(settings, sink, body, sender_header="Hana HR <hana@example.com>",
                    now=None):
    (digest,) = digests(sink)[-1:]
    return deliver(settings, make_reply(digest, body, sender=sender_header),
                   now or at("2026-11-25T10:30"))


def results_mail(sink, who="hana@example.com"):
    return [m for m in sink.to(who) if "Re:" in str(m["Subject"])][-1]


def test_reviewed_reviews_everything_in_the_digest(submitted, smtp_sink):
    tick(submitted, at("2026-11-25T10:00"))
    (ctx,) = reply_to_digest(submitted, smtp_sink, "Reviewed\n\nThanks,\nHana")
    assert ctx.status == "applied"
    sup = Sup.get(Sup.developer_id == 1)
    assert sup.status == "reviewed" and sup.reviewed_by.email == "hana@example.com"
    assert f"SUP {sup.id}: reviewed" in results_mail(smtp_sink).text


def test_mixed_valid_and_invalid_command_lines(submitted, smtp_sink):
    tick(submitted, at("2026-11-25T10:00"))
    sup = Sup.get(Sup.developer_id == 1)
    body = (f"note {sup.id}: solid progress, ask about design\nFLAG {sup.id} blocked twice\n"
            "make coffee\nreviewed 9999\nhelp")
    (ctx,) = reply_to_digest(submitted, smtp_sink, body)
    sup = Sup.get_by_id(sup.id)
    assert sup.hr_notes[0]["text"] == "solid progress, ask about design"
    assert sup.flags[0]["reason"] == "blocked twice" and sup.status == "submitted"
    text = results_mail(smtp_sink).text
    assert "make coffee" in text and "SUP 9999 is not a SUP of Acme Corp" in text
    assert "note added" in text and "flagged" in text and "unflag ID" in text
    reply_to_digest(submitted, smtp_sink, f"unflag {sup.id}\nreviewed {sup.id}",
                    now=at("2026-11-25T10:40"))
    sup = Sup.get_by_id(sup.id)
    assert sup.flags == [] and sup.status == "reviewed"


def test_commands_from_a_non_hr_address_are_refused(submitted, smtp_sink):
    tick(submitted, at("2026-11-25T10:00"))
    (ctx,) = reply_to_digest(submitted, smtp_sink, "reviewed",
                             sender_header="Alice <alice@example.com>")
    assert ctx.status == "refused" and "not the HR worker" in ctx.reasons[0]
    assert Sup.get(Sup.developer_id == 1).status == "submitted"


def test_team_digest_once_per_person_without_hr_fields(submitted, smtp_sink):
    sup = Sup.get(Sup.developer_id == 1)
    sup.hr_notes = [{"by": "hana@example.com", "at": "x", "text": "SECRET-NOTE"}]
    sup.flags = [{"by": "hana@example.com", "at": "x", "reason": "SECRET-FLAG"}]
    sup.save()

    def digests(who):
        return [m for m in smtp_sink.to(who) if "plans for" in str(m["Subject"])]

    tick(submitted, at("2026-11-25T10:29"))
    assert digests("dan@example.com") == [] and len(digests("alice@example.com")) == 1
    tick(submitted, at("2026-11-25T10:30"))  # Dan is in London: his 10:30
    tick(submitted, at("2026-11-25T10:45"))
    (digest,) = digests("dan@example.com")
    assert digest.rcpt_tos == ["dan@example.com"]  # one mail per person, to them alone
    assert "ship login" in digest.text and "Bob Jones: SUP not sent yet" in digest.text
    assert "SECRET" not in digest.text and "SECRET" not in digest.html
    tick(submitted, at("2026-11-25T15:30"))  # Bob's 10:30 in New York: his SUP exists now
    (bobs,) = digests("bob@example.com")
    assert "not sent yet" not in bobs.text and "Bob Jones: has not replied yet" in bobs.text
    assert "SECRET" not in bobs.text and "SECRET" not in bobs.html


def test_overdue_review_issue_opened_once_and_closed_on_review(submitted, smtp_sink,
                                                               github_double):
    tick(submitted, at("2026-11-26T07:09"))  # SLA: one business day after 07:10
    assert github_double.repos["acme/hr"].issues == {}
    for minute in (10, 11, 12):
        tick(submitted, at(f"2026-11-26T07:{minute}"))
    issues = list(github_double.repos["acme/hr"].issues.values())
    assert len(issues) == 1
    issue = issues[0]
    assert issue.assignees == ["hana-hr"] and "Overdue SUP review" in issue.title
    sup = Sup.get(Sup.developer_id == 1)
    Sup.update(status="reviewed").where(Sup.id == sup.id).execute()
    tick(submitted, at("2026-11-26T07:20"))
    tick(submitted, at("2026-11-26T07:21"))
    assert issue.closed_at is not None
    closes = [r for r in github_double.requests if r.method == "PATCH"]
    assert len(closes) == 1


def test_overdue_issue_survives_crash_between_created_and_recorded(submitted, github_double):
    from mailsup.github.api import client_for as client

    sup = Sup.get(Sup.developer_id == 1)
    # The crash: the issue exists on GitHub, but no effect row recorded its number.
    ensure_overdue_issue(client(submitted), "acme/hr", sup.id, "hana-hr", "Overdue", "body")
    tick(submitted, at("2026-11-26T07:10"))
    tick(submitted, at("2026-11-26T07:11"))
    assert len(github_double.repos["acme/hr"].issues) == 1
    effect = Effect.get(Effect.key == f"overdue:{sup.id}")
    assert effect.data["number"] == next(iter(github_double.repos["acme/hr"].issues))


def test_slack_dm_after_email_nag_once(world, smtp_sink, slack_double):
    tick(world, at("2026-11-25T08:29"))
    assert slack_double.messages == []
    slack_double.rate_limit(times=1, retry_after=30)  # too long to wait inside a tick
    tick(world, at("2026-11-25T08:30"))
    assert slack_double.messages == []
    for minute in (31, 32, 33):
        tick(world, at(f"2026-11-25T08:{minute}"))
    assert len(slack_double.messages) == 1
    assert "still open" in slack_double.messages[0].text
    assert Effect.select().where(Effect.kind == "slack_nag").count() == 1


def test_slack_nudges_hr_once_per_digest(submitted, slack_double):
    tick(submitted, at("2026-11-25T10:00"))
    tick(submitted, at("2026-11-25T10:01"))
    hr = [m for m in slack_double.messages if m.channel == "DU0HANA"]
    assert len(hr) == 1 and "review" in hr[0].text


def test_no_slack_token_no_slack(make_settings, smtp_sink, tmp_path, slack_double):
    settings = make_settings(smtp_sink.port)
    load_directory(tmp_path, DIRECTORY)
    tick(settings, at("2026-11-25T05:00"))
    tick(settings, at("2026-11-25T08:30"))
    assert slack_double.requests == []
