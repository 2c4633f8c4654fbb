"""The SUP lifecycle: create (with its window and footprint) and queue its email.

A SUP's window starts at the developer's previous *submitted* SUP for the
client, so every GitHub event lands in exactly one snapshot (design §4).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from peewee import IntegrityError

from . import tokens, views
from .clock import Calendar, local_instant
from .config import Schedule, Settings
from .models import Client, Person, Sup, db, utcnow_naive
from .outbound import compose, outbox

log = logging.getLogger("mailsup.sup")

NAG_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class Due:
    """A SUP that should exist now: who, for which client, which local day."""

    developer: Person
    client: Client
    day: date
    schedule: Schedule
    calendar: Calendar
    skip_reason: str | None = None


def last_submitted(developer: Person, client: Client, before: date | None = None) -> Sup | None:
    query = Sup.select().where((Sup.developer == developer) & (Sup.client == client)
                               & Sup.submitted_at.is_null(False))
    if before is not None:
        query = query.where(Sup.day < before)
    return query.order_by(Sup.submitted_at.desc()).first()


def window_start(due: Due) -> datetime:
    """Previous submission, or one business day back for a first SUP."""
    previous = last_submitted(due.developer, due.client)
    if previous is not None:
        return previous.submitted_at
    back = due.calendar.previous_business_day(due.day)
    return utcnow_naive(local_instant(back, due.schedule.sup_time, due.developer.timezone))


def carried_unavailable(due: Due) -> str | None:
    """'unavailable' said on the previous business day skips this one."""
    previous = last_submitted(due.developer, due.client, before=due.day)
    if previous and previous.scheduling == "unavailable" and \
            due.calendar.next_business_day(previous.day) == due.day:
        return f"unavailable (said in {previous.reference})"
    return None


def nag_instant(due: Due, now: datetime) -> datetime:
    """nag_time, but never sooner than an hour after the mail actually went out.

    A SUP created late (the service was down at 06:00) should not arrive
    together with its own reminder.
    """
    nag = utcnow_naive(local_instant(due.day, due.schedule.nag_time, due.developer.timezone))
    return max(nag, utcnow_naive(now) + NAG_GRACE)


def create(due: Due, now: datetime, footprint: dict | None, note: str | None) -> Sup | None:
    """Create the SUP row; None if it already exists (a second tick)."""
    tz = due.developer.timezone
    previous = last_submitted(due.developer, due.client)
    skip = due.skip_reason or carried_unavailable(due)
    try:
        with db.atomic():
            return Sup.create(
                developer=due.developer, client=due.client, day=due.day,
                status="skipped" if skip else "open", skip_reason=skip,
                created_at=utcnow_naive(now),
                due_at=utcnow_naive(local_instant(due.day, due.schedule.sup_time, tz)),
                nag_at=nag_instant(due, now),
                window_start=window_start(due), footprint=footprint, footprint_note=note,
                previous_plan=previous.plan if previous else None,
            )
    except IntegrityError:
        return None


def reply_to(settings: Settings, sup: Sup) -> str:
    return tokens.reply_address(settings.reply_address, tokens.sign(settings.secret, "s", sup.id))


def render_request(sup: Sup) -> compose.Rendered:
    return compose.render("sup_request", views.sup_subject(sup), views.sup_request_context(sup))


def queue_request(settings: Settings, sup: Sup, now: datetime):
    return outbox.enqueue(
        settings, key=f"sup_request:{sup.id}", kind="sup_request", to=[sup.developer.email],
        rendered=render_request(sup), now=now, sup=sup, reply_to=reply_to(settings, sup),
    )


def request_message(sup: Sup):
    from .models import OutboundMessage

    return OutboundMessage.get_or_none(OutboundMessage.key == f"sup_request:{sup.id}")


def create_and_queue(settings: Settings, due: Due, now: datetime, footprint: dict | None,
                     note: str | None) -> Sup | None:
    """SUP row and its mail in one transaction: a crash leaves both or neither."""
    with db.atomic():
        sup = create(due, now, footprint, note)
        if sup is not None and sup.status == "open":
            queue_request(settings, sup, now)
    if sup is not None:
        log.info("created %s for %s (%s, %s) %s", sup.reference, due.developer.email,
                 due.client.slug, due.day, sup.status)
    return sup
