"""A tick that comes late queues its reminders and team digests a batch at a time.

When the service was down through the morning, the first tick after it has
every reminder and every team digest of the day to queue. Each used to cost
its own look-ups and INSERTs (about 2.6 ms a reminder, 41-58 s for 10,000
developers); now a batch of them is one transaction with one look-up per
table. The look-ups (SELECTs) must not grow with the developers, and a batch
that fails for one bad entry costs only that entry, which the next tick sends.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from datetime import UTC, datetime

import pytest

from mailsup.clock import utcnow_naive
from mailsup.jobs import nags, team_digests
from mailsup.jobs.tick import tick
from mailsup.models import Client, Membership, Org, OutboundMessage, Person, Team
from tests.test_tick_noop_cost import Counter, wipe

MORNING = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)  # a Wednesday: every SUP mail
LATE = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # after the reminders and team digests


TEAMS = 4  # the same teams for both sizes: a section costs its look-ups per team


def populate(developers: int) -> None:
    client = Client.create(slug="acme", name="Acme", schedule={})
    org = Org.create(login="acme", client=client)
    team_size = developers // TEAMS
    for t in range(TEAMS):
        manager = Person.create(email=f"dm{t}@example.com", name=f"Manager {t}", timezone="UTC")
        team = Team.create(org=org, slug=f"team{t}", name=f"Team {t}", delivery_manager=manager)
        for k in range(t * team_size, (t + 1) * team_size):
            person = Person.create(email=f"dev{k:04d}@example.com", name=f"Dev {k:04d}",
                                   timezone="UTC")
            Membership.create(team=team, person=person)


def morning(settings, developers: int) -> None:
    """Every SUP created and its mail sent; nothing after it has run yet."""
    populate(developers)
    report = tick(settings, MORNING, send=False)
    assert report.done["create_sups"] == developers, report.as_dict()
    (OutboundMessage.update(status="sent", sent_at=utcnow_naive(MORNING))
     .where(OutboundMessage.status == "pending").execute())


def late_tick(settings) -> tuple[dict[str, int], int]:
    with Counter() as counted:
        report = tick(settings, LATE, send=False)
    assert not report.errors, report.errors
    return report.done, counted.selects


def recipients(kind: str) -> Tally:
    return Tally(to[0] for (to,) in OutboundMessage.select(OutboundMessage.recipients)
                 .where(OutboundMessage.kind == kind).tuples())


def mails_by_kind() -> Tally:
    return Tally(kind for (kind,) in OutboundMessage.select(OutboundMessage.kind).tuples())


def test_the_late_ticks_look_ups_do_not_grow_with_developers(make_settings) -> None:
    settings = make_settings()
    morning(settings, 40)
    small, small_selects = late_tick(settings)
    wipe()
    morning(settings, 400)
    large, large_selects = late_tick(settings)
    print(f"\nFIGURE late tick: 40 developers {small_selects} SELECTs, "
          f"400 developers {large_selects} SELECTs ({large})")
    assert small["nags"] == 40 and large["nags"] == 400
    assert large["team_digests"] == 400 + TEAMS  # every developer, and each team's manager
    kinds = mails_by_kind()
    assert kinds["nag"] == 400 and kinds["team_digest"] == 404 and kinds["sup_request"] == 400
    # Three batches instead of one cost a few look-ups; one per entry was 1,500 more.
    assert large_selects - small_selects <= 20, (small_selects, large_selects)


@pytest.mark.parametrize("job", ["nags", "team_digests"])
def test_one_bad_entry_costs_only_itself(make_settings, monkeypatch, caplog, job) -> None:
    settings = make_settings()
    morning(settings, 32)
    module = nags if job == "nags" else team_digests
    name = "nag" if job == "nags" else "team_digest"
    real = getattr(module.messages, name)

    def breaks_for_dev7(person, *args, **kwargs):
        if person.email == "dev0007@example.com":
            raise ValueError("a name the template cannot render")
        return real(person, *args, **kwargs)

    monkeypatch.setattr(module.messages, name, breaks_for_dev7)
    with caplog.at_level(logging.ERROR):
        report = tick(settings, LATE, send=False)
    assert not report.errors  # the job went on: one entry failed, not the job
    kind = "nag" if job == "nags" else "team_digest"
    to = recipients(kind)
    assert "dev0007@example.com" not in to
    assert len(to) == 31 + (0 if job == "nags" else TEAMS) and set(to.values()) == {1}
    assert any("not queued for dev0007@example.com" in r.getMessage() for r in caplog.records)

    monkeypatch.setattr(module.messages, name, real)  # mended: the next tick sends it
    tick(settings, LATE.replace(minute=5), send=False)
    to = recipients(kind)
    assert to["dev0007@example.com"] == 1 and set(to.values()) == {1}
