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

from datetime import datetime

from mailsup.clock import end_of_local_day, utcnow_naive
from mailsup.models import Effect, Keys, Person, Sup, db

AWAY_REASON = "away (out-of-office reply)"


def day_ended(now: datetime) -> list[Sup]:
    """Open SUPs whose local day is over for their developer."""
    stamp = utcnow_naive(now)
    # A local day ends no earlier than 10:00 UTC of that date (UTC+14): later
    # dates cannot be over yet, and the open set stays small, as this job keeps it.
    query = (Sup.select(Sup, Person).join(Person, on=(Sup.developer == Person.id))
             .where((Sup.status == "open") & (Sup.day <= stamp.date())))
    return [s for s in query if stamp >= end_of_local_day(s.day, s.developer.timezone)]


def close_day(sup: Sup, now: datetime) -> bool:
    """Missed (or skipped, if away); False if a reply got there first."""
    stamp = utcnow_naive(now)
    changes = ({"status": "skipped", "skip_reason": AWAY_REASON} if sup.away
               else {"status": "missed"})
    with db.atomic():
        if not Sup.update(**changes).where((Sup.id == sup.id)
                                           & (Sup.status == "open")).execute():
            return False
        if not sup.away:
            Effect.insert(key=Keys.missed(sup.id), kind="missed", sup=sup, created_at=stamp,
                          done_at=stamp, data={"day": str(sup.day)}).on_conflict_ignore() \
                .execute()
    return True


def mark_missed(settings, now: datetime) -> list[Sup]:
    """The tick's "missed" job: every SUP whose day ended unanswered."""
    return [sup for sup in day_ended(now) if close_day(sup, now) and not sup.away]
