"""Create each developer's SUP at their local sup_time, with its footprint, and queue it.

A pure function of ``now`` and the database: it finds what is due and not yet
done, so running it twice, or after a crash, is harmless.
"""

from __future__ import annotations

import logging
from datetime import datetime

from peewee import chunked, fn

from mailsup import sup as sups
from mailsup.clock import Calendar, aware, local_date, local_instant, utcnow_naive
from mailsup.config import Settings
from mailsup.directory import developers_of, leave_of, schedule_for
from mailsup.github import footprints
from mailsup.models import WEEKDAYS, Client, Membership, Org, Person, Sup, Team
from mailsup.sup import Due

log = logging.getLogger(__name__)


def _of_client(client: Client):
    """The client's developers, as a condition on Person (no rows loaded)."""
    return Person.id.in_(Membership.select(Membership.person).join(Team).join(Org)
                         .where(Org.client == client))


def anyone_due(client: Client, schedule, now: datetime) -> bool:
    """Might anyone need a SUP now? Cheap enough for every minute's tick.

    The full answer (``due_for_client``) reads every developer; once the 06:00
    SUPs exist, a tick asks only: in the time zones whose creation window is
    open, is there a developer with today as a workday and no SUP for today?
    (Leave and holidays are left to the full answer: they only ever remove.)
    """
    zones = [tz for (tz,) in Person.select(Person.timezone).where(_of_client(client))
             .distinct().tuples()]
    for tz in zones:
        day = local_date(now, tz)
        if not (local_instant(day, schedule.sup_time, tz) <= aware(now)
                < local_instant(day, schedule.create_until, tz)):
            continue
        has_sup = Sup.select(Sup.id).where((Sup.developer == Person.id)
                                           & (Sup.client == client) & (Sup.day == day))
        lacking = (Person.select(Person.workdays)
                   .where(_of_client(client) & (Person.timezone == tz) & ~fn.EXISTS(has_sup))
                   .distinct().tuples())
        weekday = WEEKDAYS[day.weekday()]
        if any(weekday in workdays.split(",") for (workdays,) in lacking):
            return True
    return False


def due_for_client(settings: Settings, client: Client, now: datetime) -> list[Due]:
    """Developers whose local sup_time has passed today and who have no SUP yet."""
    schedule = schedule_for(settings, client)
    if not anyone_due(client, schedule, now):
        return []
    candidates = []
    for person in developers_of(client):
        day = local_date(now, person.timezone)
        if day.weekday() not in person.workday_numbers:
            continue
        if not (local_instant(day, schedule.sup_time, person.timezone) <= aware(now)
                < local_instant(day, schedule.create_until, person.timezone)):
            continue
        candidates.append((person, day))
    if not candidates:
        return []
    leave = leave_of([p.id for p, _ in candidates])
    previous = sups.latest_submitted(client)
    candidates = [
        Due(p, client, day, schedule, calendar, calendar.absence(day), previous.get(p.id))
        for p, day in candidates
        for calendar in [Calendar.of(p, leave.get(p.id, []))]
    ]
    days = {c.day for c in candidates}
    existing = {(s.developer_id, s.day) for s in Sup.select(Sup.developer, Sup.day)
                .where((Sup.client == client) & Sup.day.in_(list(days)))}
    return [c for c in candidates if (c.developer.id, c.day) not in existing]


BATCH = 200  # SUPs (and their mails) per transaction in the 06:00 burst


def create_batch(settings: Settings, batch: list[Due], now: datetime,
                 per_person: dict, note: str | None, share: bool = False) -> list[Sup] | None:
    """One transaction for the batch; if it fails, each SUP alone, so one bad entry
    costs only itself. None: another worker has the batch (``share``), try it later."""
    try:
        return sups.create_and_queue_many(settings, batch, now, per_person, note, share)
    except Exception:  # noqa: BLE001 - retried one by one below
        log.exception("batch of %d SUPs failed; creating them one by one", len(batch))
    created = []
    for item in batch:
        try:
            sup = sups.create_and_queue(settings, item, now, per_person.get(item.developer.email),
                                        note)
        except Exception:  # noqa: BLE001 - one bad entry must not stop everyone's SUP
            log.exception("SUP for %s (%s) not created", item.developer.email,
                          item.client.slug)
            continue
        if sup is not None:
            created.append(sup)
    return created


def create_due_sups(settings: Settings, now: datetime) -> list[Sup]:
    created = []
    for client in Client.select().order_by(Client.slug):
        due = due_for_client(settings, client, now)
        if not due:
            continue
        windows = {d.developer: (sups.window_start(d), utcnow_naive(now))
                   for d in due if d.skip_reason is None}
        per_person, note = footprints.gather(settings, client, windows) if windows else ({}, None)
        # Batches another worker holds come last: by then they are done (the
        # database skips every row) or that worker died and this one does them.
        later = []
        for batch in chunked(due, BATCH):
            made = create_batch(settings, batch, now, per_person, note, share=True)
            if made is None:
                later.append(batch)
            else:
                created += made
        for batch in later:
            # Mostly done by the worker that held it: only what is still missing is
            # redone (its whole batch again costs rows built and an INSERT of conflicts).
            batch = not_created(client, batch)
            if batch:
                created += create_batch(settings, batch, now, per_person, note) or []
    return created


def not_created(client: Client, batch: list[Due]) -> list[Due]:
    """The entries of ``batch`` whose SUP does not exist (yet: one in a transaction still
    open elsewhere is found by the INSERT, which waits for it)."""
    existing = set(Sup.select(Sup.developer, Sup.day).where(
        (Sup.client == client) & Sup.developer.in_([d.developer.id for d in batch])
        & Sup.day.in_(list({d.day for d in batch}))).tuples())
    return [d for d in batch if (d.developer.id, d.day) not in existing]
