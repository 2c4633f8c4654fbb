"""A distributed team's week: Tokyo, Vienna, São Paulo and Auckland, managed from Los Angeles.

The week of ``scripts/trial_week.py`` (Vienna leaves summer time on 25
October, Los Angeles on 1 November), played once per database: every team
digest lists exactly the SUPs of its date, none goes out before the first
SUP or for a date nobody works, misses, late answers and the weekly figures
are right, and nobody gets more than one reminder or team digest a day.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, time
from zoneinfo import ZoneInfo

import pytest

from mailsup.models import Effect, OutboundMessage, Person, Sup, Team
from mailsup.outbound.context import day_long
from scripts.trial_week import run_trial
from tests.support.databases import database_url

PLAN_DATE = re.compile(r"work(?: in Tokyo)? for (\d{4}-\d{2}-\d{2})")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def week(request, tmp_path_factory):
    """The week, played once per database; the tests only read what it left."""
    folder = tmp_path_factory.mktemp(f"week-{request.param}")
    with database_url(request.param, folder) as url:
        yield run_trial(folder, url)


def local(person: Person, instant) -> tuple[date, time]:
    there = instant.replace(tzinfo=UTC).astimezone(ZoneInfo(person.timezone))
    return there.date(), there.time()


def digests() -> list[tuple[OutboundMessage, Effect]]:
    rows = OutboundMessage.select().where(OutboundMessage.kind == "team_digest")
    return [(row, Effect.get(Effect.key == row.key)) for row in rows.order_by(OutboundMessage.id)]


def split_sections(text: str, sections: list) -> list[str]:
    """The mail's text cut at each section's heading, in order."""
    heads = []
    for team_id, day in sections:
        team = Team.get_by_id(team_id)
        head = f"{team.name} ({team.org.client.name}) on {day_long(date.fromisoformat(day))}"
        heads.append(text.index(head))
    return [text[a:b] for a, b in zip(heads, heads[1:] + [len(text)], strict=True)]


def test_every_digest_lists_exactly_the_sups_of_its_date(week):
    checked = 0
    for row, record in digests():
        for (team_id, day), part in zip(record.data["sections"],
                                        split_sections(row.text_body, record.data["sections"]),
                                        strict=True):
            shown = set(PLAN_DATE.findall(part))
            assert shown <= {day}, (row.subject, part)
            team = Team.get_by_id(team_id)
            answered = [s for s in Sup.select().where(
                (Sup.client == team.org.client) & (Sup.day == date.fromisoformat(day))
                & Sup.submitted_at.is_null(False) & (Sup.submitted_at <= row.created_at))
                if s.developer in [m.person for m in team.memberships]]
            for sup in answered:
                assert sup.plan in part, (row.subject, sup.developer.email)
            checked += 1
    assert checked > 30
    # Every member's morning had come by every recipient's digest time this week.
    assert not any("morning comes later" in row.text_body for row, _ in digests())


def test_no_digest_before_the_first_sup_or_on_a_day_nobody_works(week):
    days = Counter()
    for _row, record in digests():
        for team_id, day in record.data["sections"]:
            days[(Team.get_by_id(team_id).slug, date.fromisoformat(day))] += 1
    assert min(d for _t, d in days) == date(2026, 10, 26)  # the first SUPs are Monday's
    assert {d.weekday() for _t, d in days} <= {0, 1, 2, 3, 4}  # no weekend section
    assert ("app", date(2026, 10, 30)) not in days  # Kenji and Sofia work Mon-Thu
    assert ("platform", date(2026, 10, 30)) in days  # Vera and Aroha work Fridays
    first = OutboundMessage.select().order_by(OutboundMessage.id).first()
    assert first.created_at.date() >= date(2026, 10, 25)  # nothing on Friday or Saturday
    # Each recipient sees each team's date once: members of both teams, and Lena.
    per_recipient = Counter((row.recipients[0], t, d) for row, record in digests()
                            for t, d in record.data["sections"])
    assert set(per_recipient.values()) == {1}


def test_each_digest_goes_at_the_recipients_own_ten_thirty_across_dst(week):
    for row, _record in digests():
        person = Person.get(Person.email == row.recipients[0])
        assert local(person, row.created_at)[1] == time(10, 30), (person.email, row.created_at)
    lena = Person.get(Person.email == "lena@example.com")
    sent = [row.created_at for row, _ in digests() if row.recipients == [lena.email]]
    assert {t.hour for t in sent} == {17, 18}  # PDT before 1 November, PST after


def test_at_most_one_reminder_and_one_digest_per_person_per_day(week):
    per_day = Counter()
    for row in OutboundMessage.select():
        person = Person.get(Person.email == row.recipients[0])
        per_day[(person.email, local(person, row.created_at)[0], row.kind)] += 1
    assert max(n for (_p, _d, kind), n in per_day.items() if kind == "nag") == 1
    assert max(n for (_p, _d, kind), n in per_day.items() if kind == "team_digest") == 1
    thursday = {kind: n for (who, day, kind), n in per_day.items()
                if who == "kenji@example.com" and day == date(2026, 10, 29)}
    assert thursday == {"sup_request": 2, "nag": 1, "team_digest": 1, "receipt": 2}
    assert week["per_person_day"]["kenji@example.com"]["2026-10-29"] == 6  # 8 before


def test_the_reminder_lists_both_clients_with_their_own_addresses(week):
    reminder = OutboundMessage.get((OutboundMessage.kind == "nag")
                                   & (OutboundMessage.subject.contains("2 SUPs open")))
    kenji = Sup.select().join(Person, on=(Sup.developer == Person.id)).where(
        (Sup.day == date(2026, 10, 29)) & (Person.email == "kenji@example.com"))
    for sup in kenji:
        assert f"{sup.reference} {sup.client.name}: sup+s{sup.id}-" in reminder.text_body


def test_missed_late_and_no_sup_submitted_before_it_was_created(week):
    sofia = {s.day: s for s in Sup.select().join(Person, on=(Sup.developer == Person.id))
             .where(Person.email == "sofia@example.com") if s.client.slug == "acme"}
    assert sofia[date(2026, 10, 27)].status == "missed"
    late = sofia[date(2026, 10, 28)]
    assert late.status in ("submitted", "reviewed") and late.late
    assert not any(s.late for d, s in sofia.items() if d != date(2026, 10, 28))
    assert all(s.submitted_at >= s.created_at for s in Sup.select()
               if s.submitted_at is not None)
    missed = {e.sup_id for e in Effect.select().where(Effect.kind == "missed")}
    assert missed == {s.id for s in Sup.select().where((Sup.status == "missed") | Sup.late)}
    # Wednesday's digests say who missed Tuesday; Thursday's that she answered late.
    lena = [row for row, _ in digests() if row.recipients == ["lena@example.com"]]
    wednesday = next(r for r in lena if "Wed 28 Oct" in r.subject)
    thursday = next(r for r in lena if "Thu 29 Oct" in r.subject)
    assert "Missed on Tuesday 27 October 2026: Sofia Lima" in wednesday.text_body
    assert "Missed on Wednesday 28 October 2026: Sofia Lima (answered late)" \
        in thursday.text_body


def test_hr_digest_lists_who_missed_since_the_last_digest(week):
    tuesday_sup = Sup.get((Sup.status == "missed") & (Sup.day == date(2026, 10, 27)))
    acme = [r for r in OutboundMessage.select().where(OutboundMessage.kind == "hr_digest")
            .order_by(OutboundMessage.id) if r.subject.startswith("Acme")]
    listing = [r for r in acme if f"{tuesday_sup.reference} Sofia Lima" in r.text_body]
    assert len(listing) == 1 and "Missed since the last digest" in listing[0].text_body


def test_weekly_summary_counts_the_week(week):
    (summary,) = OutboundMessage.select().where(OutboundMessage.kind == "weekly_summary")
    assert summary.recipients == ["lena@example.com"]
    lena = Person.get(Person.email == "lena@example.com")
    assert local(lena, summary.created_at) == (date(2026, 11, 2), time(10, 30))
    data = Effect.get(Effect.key == summary.key).data
    rows = {(s["team_name"], r["name"]): (r["on_time"], r["late"], r["missed"], r["skipped"])
            for s in data["sections"] for r in s["rows"]}
    assert rows == {
        ("Platform", "Aroha Ngata"): (3, 0, 0, 2),  # out of office from Thursday
        ("Platform", "Kenji Sato"): (4, 0, 0, 0),
        ("Platform", "Sofia Lima"): (2, 1, 1, 0),
        ("Platform", "Vera Huber"): (5, 0, 0, 0),
        ("App", "Kenji Sato"): (4, 0, 0, 0),
        ("App", "Sofia Lima"): (4, 0, 0, 0),
    }
    assert "Sofia Lima: 2 on time, 1 late, 1 missed, 0 skipped" in summary.text_body


def test_out_of_office_return_date_became_leave(week):
    aroha = Person.get(Person.email == "aroha@example.com")
    assert [(lv.start, lv.end, lv.source) for lv in aroha.leaves] == \
        [(date(2026, 10, 29), date(2026, 11, 2), "mail")]
    skipped = [s.day for s in Sup.select().where((Sup.developer == aroha)
                                                 & (Sup.status == "skipped"))]
    assert skipped == [date(2026, 10, 29), date(2026, 10, 30), date(2026, 11, 2)]
    assert not [r for r in OutboundMessage.select() if r.recipients == [aroha.email]
                and date(2026, 10, 30) <= local(aroha, r.created_at)[0] <= date(2026, 11, 2)]
