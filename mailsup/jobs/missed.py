"""End of a developer's local day: a SUP still open becomes ``missed`` (design §2, §3).

The status change and its ``missed:{id}`` Effect are one transaction, and
the update is conditional on the SUP still being open, so a reply applied in
the same instant wins and a second tick finds nothing to do. The Effect's
time is what the HR digest reads as "missed since the last digest". A reply
that comes later still submits the SUP, marked late (``sup.submit``).

A SUP marked away by an out-of-office reply was not missed: its developer
was away, so it is skipped for the record instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mailsup.clock import end_of_local_day, utcnow_naive
from mailsup.models import Effect, Keys, Person, Sup, db

AWAY_REASON = "away (out-of-office reply)"


def day_ended(now: datetime) -> list[tuple[int, bool]]:
    """(id, away) of the open SUPs whose local day is over for their developer."""
    stamp = utcnow_naive(now)
    # A local day D ends at D+1 00:00 local, no earlier than D 10:00 UTC (UTC+14):
    # later days cannot be over, so a morning tick reads none of today's SUPs.
    latest = (stamp - timedelta(hours=10)).date()
    candidates = ((Sup.status == "open") & (Sup.day <= latest))
    # The (day, zone) pairs first, few whatever the number of SUPs: after 10:00 UTC
    # every open SUP of today is a candidate, and until its zone's midnight none is over.
    over = [(day, tz) for day, tz in (Sup.select(Sup.day, Person.timezone)
                                      .join(Person, on=(Sup.developer == Person.id))
                                      .where(candidates).distinct().tuples())
            if stamp >= end_of_local_day(day, tz)]
    found = []
    for day, tz in sorted(over):
        found += [(sup_id, bool(away)) for sup_id, away in (
            Sup.select(Sup.id, Sup.away).join(Person, on=(Sup.developer == Person.id))
            .where(candidates & (Sup.day == day) & (Person.timezone == tz)).tuples())]
    return sorted(found)


def close_day(sup_id: int, away: bool, now: datetime) -> bool:
    """Missed (or skipped, if away); False if a reply got there first."""
    stamp = utcnow_naive(now)
    changes = {"status": "skipped", "skip_reason": AWAY_REASON} if away \
        else {"status": "missed"}
    with db.atomic():
        if not Sup.update(**changes).where((Sup.id == sup_id)
                                           & (Sup.status == "open")).execute():
            return False
        if not away:
            Effect.insert(key=Keys.missed(sup_id), kind="missed", sup=sup_id, created_at=stamp,
                          done_at=stamp).on_conflict_ignore().execute()
    return True


def mark_missed(settings, now: datetime) -> list[int]:
    """The tick's "missed" job: the ids of every SUP whose day ended unanswered."""
    return [sup_id for sup_id, away in day_ended(now) if close_day(sup_id, away, now)
            and not away]
