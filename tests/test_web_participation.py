"""Participation: what became of each SUP, per week, and the chart that shows it."""

from __future__ import annotations

from datetime import date, datetime

from mailsup.models import Person, Sup
from mailsup.web import charts, participation

BERLIN = Person(email="a@example.com", name="A", timezone="Europe/Berlin")
NOW = datetime(2026, 11, 25, 12, 0)  # Wednesday, naive UTC like the database


def sup(day: date, status: str, submitted_at: datetime | None = None) -> Sup:
    return Sup(developer=BERLIN, day=day, status=status, submitted_at=submitted_at)


def test_each_sup_counts_as_what_became_of_it():
    assert participation.state_of(sup(date(2026, 11, 24), "submitted",
                                      datetime(2026, 11, 24, 8)), NOW) == "submitted"
    # Berlin's Tuesday ends at 23:00 UTC: an answer after that is late.
    assert participation.state_of(sup(date(2026, 11, 24), "reviewed",
                                      datetime(2026, 11, 24, 23, 5)), NOW) == "late"
    assert participation.state_of(sup(date(2026, 11, 24), "open"), NOW) == "missed"
    assert participation.state_of(sup(date(2026, 11, 24), "missed"), NOW) == "missed"
    assert participation.state_of(sup(date(2026, 11, 25), "open"), NOW) == "open"
    assert participation.state_of(sup(date(2026, 11, 23), "skipped"), NOW) == "skipped"


def test_weeks_count_each_state_and_leave_out_what_is_still_open():
    sups = [sup(date(2026, 11, 23), "submitted", datetime(2026, 11, 23, 8)),
            sup(date(2026, 11, 24), "open"),
            sup(date(2026, 11, 25), "open"),
            sup(date(2026, 11, 16), "skipped"),
            sup(date(2026, 9, 1), "submitted", datetime(2026, 9, 1, 8))]  # before 8 weeks
    weeks = participation.weekly(sups, date(2026, 11, 25), NOW)
    assert len(weeks) == 8 and weeks[0].start == date(2026, 10, 5)
    assert weeks[-1].counts == {"submitted": 1, "late": 0, "missed": 1, "skipped": 0}
    assert weeks[-2].counts["skipped"] == 1
    assert participation.totals(weeks) == {"submitted": 1, "late": 0, "missed": 1,
                                           "skipped": 1}
    svg = str(charts.participation_svg(weeks, "A <b> title"))
    assert svg.startswith("<svg") and "A &lt;b&gt; title" in svg and "<script" not in svg
    assert svg.count("<rect") == 3 and "week of 23 Nov: 1 missed" in svg
