"""All time in one place: the clock, stored instants, local instants, business days.

Stored instants are naive UTC (the database's convention); local time exists
only at the edges. Every offset comes from zoneinfo for the day in question,
never from a fixed UTC offset, so daylight-saving changes in one zone but not
another just work.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

from mailsup.errors import UserError
from mailsup.models import Person


def utc_now() -> datetime:
    """The real clock; every job takes ``now`` instead, so only the edges call this."""
    return datetime.now(UTC)


def utcnow_naive(now: datetime) -> datetime:
    """Normalise an aware instant to the naive UTC the database stores."""
    if now.tzinfo is None:
        return now
    return now.astimezone(UTC).replace(tzinfo=None)


def stamp(value: datetime | date | None) -> str | None:
    """A stored instant (naive UTC) or a day as ISO 8601 text, instants marked ``Z``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    return value.isoformat()


def iso_z(dt: datetime) -> str:
    """GitHub's own timestamp form, so query strings (and cache keys) are stable."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str | None) -> datetime | None:
    """An aware UTC instant from ISO 8601 text such as GitHub's ``2026-11-25T09:00:00Z``."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def floor_hour(dt: datetime) -> datetime:
    """Query bounds snap to the hour so successive ticks reuse URLs and get 304s."""
    return dt.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(dt: datetime) -> datetime:
    floor = floor_hour(dt)
    return floor if floor == dt else floor + timedelta(hours=1)


class UnknownTimeZone(UserError, ValueError):
    pass


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin"
        ) from None


def aware(now: datetime) -> datetime:
    """Treat a naive instant as UTC (the database's convention)."""
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def local_date(now: datetime, tz_name: str) -> date:
    return aware(now).astimezone(zone(tz_name)).date()


def end_of_local_day(day: date, tz_name: str) -> datetime:
    """The naive-UTC instant at which ``day`` ends in ``tz_name`` (the next local midnight)."""
    return utcnow_naive(local_instant(day + timedelta(days=1), time(0, 0), tz_name))


@lru_cache(maxsize=4096)  # the same few days, times and zones for every person of a tick
def local_instant(day: date, at: time, tz_name: str) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``tz_name``.

    In a spring-forward gap the wall time does not exist; zoneinfo's fold=0
    maps it to the instant an hour later, which is what a person expects.
    """
    local = datetime.combine(day, at, tzinfo=zone(tz_name))
    return local.astimezone(UTC)


@lru_cache(maxsize=256)
def _holiday_calendar(spec: str, year: int):
    country, _, subdiv = spec.partition("-")
    try:
        return holidays_lib.country_holidays(country, subdiv=subdiv or None, years=year)
    except NotImplementedError:
        raise ValueError(
            f"unknown holiday country {spec!r}; use an ISO code like DE or DE-BY"
        ) from None


def check_holiday_country(spec: str) -> None:
    _holiday_calendar(spec, 2026)


class Calendar:
    """A person's working calendar: weekdays, public holidays, leave."""

    def __init__(self, workdays: set[int], holiday_country: str | None,
                 leave: list[tuple[date, date]]):
        self.workdays = workdays
        self.holiday_country = holiday_country
        self.leave = leave

    @classmethod
    def of(cls, person: Person, leave: list[tuple[date, date]] | None = None) -> Calendar:
        """``leave``: the person's spans, when a batch has read everyone's at once
        (``directory.leave_of``); else they are read now."""
        if leave is None:
            leave = [(lv.start, lv.end) for lv in person.leaves]
        return cls(person.workday_numbers, person.holiday_country, leave)

    def is_workday(self, day: date) -> bool:
        return day.weekday() in self.workdays

    def holiday_name(self, day: date) -> str | None:
        if not self.holiday_country:
            return None
        return _holiday_calendar(self.holiday_country, day.year).get(day)

    def on_leave(self, day: date) -> bool:
        # Most people have no leave: asked several times per person in a 06:00 burst.
        return bool(self.leave) and any(start <= day <= end for start, end in self.leave)

    def absence(self, day: date) -> str | None:
        """Why a workday is not a business day for this person, if it is not."""
        name = self.holiday_name(day)
        if name:
            return f"public holiday: {name}"
        if self.on_leave(day):
            return "leave"
        return None

    def is_business_day(self, day: date) -> bool:
        return self.is_workday(day) and self.absence(day) is None

    def next_business_day(self, day: date) -> date:
        candidate = day + timedelta(days=1)
        for _ in range(400):
            if self.is_business_day(candidate):
                return candidate
            candidate += timedelta(days=1)
        return candidate

    def previous_business_day(self, day: date) -> date:
        candidate = day - timedelta(days=1)
        for _ in range(400):
            if self.is_business_day(candidate):
                return candidate
            candidate -= timedelta(days=1)
        return candidate

    def add_business_days(self, day: date, count: int) -> date:
        for _ in range(count):
            day = self.next_business_day(day)
        return day
