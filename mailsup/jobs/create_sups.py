"""The developer side of the daily cycle: create SUPs at sup_time, nag at nag_time.

Both jobs are pure functions of ``now`` and the database: they find what is
due and not yet done, so running them twice, or after a crash, is harmless.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from mailsup import sup as sups
from mailsup.clock import Calendar, aware, local_date, local_instant
from mailsup.config import Settings
from mailsup.directory import developers_of
from mailsup.github import footprints
from mailsup.models import Client, Effect, Leave, Sup, db, utcnow_naive
from mailsup.outbound import compose, outbox
from mailsup.outbound import context as views
from mailsup.sup import Due

log = logging.getLogger("mailsup.jobs")


def client_schedule(settings: Settings, client: Client):
    return settings.schedule.override(client.schedule or {}, f"client {client.slug} schedule")


def leave_of(person_ids: list[int]) -> dict[int, list]:
    """Everyone's leave in one query: a per-person lookup made no-op ticks O(people)."""
    spans: dict[int, list] = {}
    for lv in Leave.select().where(Leave.person.in_(person_ids)):
        spans.setdefault(lv.person_id, []).append((lv.start, lv.end))
    return spans


def due_for_client(settings: Settings, client: Client, now: datetime) -> list[Due]:
    """Developers whose local sup_time has passed today and who have no SUP yet."""
    schedule = client_schedule(settings, client)
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
        for calendar in [Calendar(p.workday_numbers, p.holiday_country, leave.get(p.id, []))]
    ]
    days = {c.day for c in candidates}
    existing = {(s.developer_id, s.day) for s in Sup.select(Sup.developer, Sup.day)
                .where((Sup.client == client) & Sup.day.in_(list(days)))}
    return [c for c in candidates if (c.developer.id, c.day) not in existing]


def create_due_sups(settings: Settings, now: datetime) -> list[Sup]:
    created = []
    for client in Client.select().order_by(Client.slug):
        due = due_for_client(settings, client, now)
        if not due:
            continue
        windows = {d.developer: (sups.window_start(d), utcnow_naive(now))
                   for d in due if d.skip_reason is None}
        per_person, note = footprints.gather(settings, client, windows) if windows else ({}, None)
        for item in due:
            footprint = per_person.get(item.developer.email)
            try:
                sup = sups.create_and_queue(settings, item, now, footprint, note)
            except Exception:  # noqa: BLE001 - one bad entry must not stop everyone's SUP
                log.exception("SUP for %s (%s) not created", item.developer.email,
                              client.slug)
                continue
            if sup is not None:
                created.append(sup)
    return created


# A nag instant is always within a day of the end of its SUP's local day: older
# open SUPs are stale, and the queries need never read them again.
STALE = timedelta(days=2)


def end_of_local_day(sup: Sup) -> datetime:
    return utcnow_naive(local_instant(sup.day + timedelta(days=1), datetime.min.time(),
                                      sup.developer.timezone))


def nag_due(now: datetime) -> list[Sup]:
    stamp = utcnow_naive(now)
    query = (Sup.select().where((Sup.status == "open") & (Sup.away == False)  # noqa: E712
                                & (Sup.nag_at <= stamp) & (Sup.nag_at > stamp - STALE))
             .where(~Sup.id.in_(Effect.select(Effect.sup).where(
                 (Effect.kind == "nag") & Effect.sup.is_null(False)))))
    # A SUP from an earlier day is stale: nagging about it helps nobody.
    return [s for s in query if stamp < end_of_local_day(s)]


def queue_nag(settings: Settings, sup: Sup, now: datetime) -> None:
    request = sups.request_message(sup)
    ctx = views.base_context(sup, "reply to this email to answer")
    rendered = compose.render("nag", views.sup_subject(sup, "Reminder: "), ctx)
    with db.atomic():
        Effect.create(key=f"nag:{sup.id}", kind="nag", sup=sup, created_at=utcnow_naive(now),
                      done_at=utcnow_naive(now))
        outbox.enqueue(
            settings, key=f"nag:{sup.id}", kind="nag", to=[sup.developer.email],
            rendered=rendered, now=now, sup=sup, reply_to=sups.reply_to(settings, sup),
            in_reply_to=request.message_id if request else None,
            references=[request.message_id] if request else None,
        )


def send_nags(settings: Settings, now: datetime) -> list[Sup]:
    from peewee import IntegrityError

    nagged = []
    for sup in nag_due(now):
        try:
            queue_nag(settings, sup, now)
            nagged.append(sup)
        except IntegrityError:
            continue  # another worker nagged first
    return nagged
