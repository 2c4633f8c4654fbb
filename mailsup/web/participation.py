"""Participation: what became of each SUP, counted per week (design §12).

A SUP is ``submitted`` (answered on its own local day), ``late`` (answered
after that day ended), ``missed`` (still unanswered after its day, or stored
as missed), ``skipped`` (leave, holiday, "unavailable"), or still ``open``
today. Derived from what every SUP row already holds, so it is the same
whatever marks a later version stores.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from mailsup.clock import end_of_local_day, utcnow_naive
from mailsup.models import Sup

STATES = ("submitted", "late", "missed", "skipped")
WEEKS = 8


def state_of(sup: Sup, now: datetime) -> str:
    day_end = end_of_local_day(sup.day, sup.developer.timezone)
    if sup.status == "skipped":
        return "skipped"
    if sup.submitted_at is not None:
        return "late" if sup.submitted_at >= day_end else "submitted"
    if sup.status == "missed" or utcnow_naive(now) >= day_end:
        return "missed"
    return "open"


@dataclass(frozen=True)
class Week:
    start: date  # a Monday
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def week_starts(today: date, weeks: int = WEEKS) -> list[date]:
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


def since(today: date, weeks: int = WEEKS) -> date:
    return week_starts(today, weeks)[0]


def weekly(sups: Iterable[Sup], today: date, now: datetime, weeks: int = WEEKS) -> list[Week]:
    """Counts per state for each of the last ``weeks`` weeks (oldest first); open ones not."""
    starts = week_starts(today, weeks)
    counts = {start: dict.fromkeys(STATES, 0) for start in starts}
    for sup in sups:
        monday = sup.day - timedelta(days=sup.day.weekday())
        state = state_of(sup, now)
        if monday in counts and state in STATES:
            counts[monday][state] += 1
    return [Week(start, counts[start]) for start in starts]


def totals(weeks: list[Week]) -> dict[str, int]:
    return {state: sum(w.counts[state] for w in weeks) for state in STATES}
