"""The HR digest: once a day per client, the SUPs waiting for the HR worker's review.

The HR digest is the one mail that carries HR-only fields (through
``outbound.hr_context``), and it goes only to the client's HR worker. Its
Effect records which SUPs, in which version, it showed, so that "reviewed"
covers exactly what HR saw.
"""

from __future__ import annotations

from datetime import date, datetime

from peewee import IntegrityError, fn

from mailsup import review, tokens
from mailsup.clock import Calendar, aware, local_date, local_instant, utcnow_naive
from mailsup.config import Settings
from mailsup.directory import schedule_for
from mailsup.models import Client, Effect, Keys, Person, Sup, db
from mailsup.outbound import compose, messages, outbox
from mailsup.web.links import Links


def due_day(person: Person, at, now: datetime) -> date | None:
    """The person's local day if it is a business day and ``at`` has passed."""
    day = local_date(now, person.timezone)
    if not Calendar.of(person).is_business_day(day):
        return None
    if aware(now) < local_instant(day, at, person.timezone):
        return None
    return day


def pending_reviews(client: Client) -> list[Sup]:
    submitted = Sup.select().where((Sup.client == client) & (Sup.status == "submitted"))
    # JSON text longer than "[]": only SUPs with amendments, not every reviewed one.
    amended = [s for s in Sup.select().where((Sup.client == client) & (Sup.status == "reviewed")
                                             & (fn.LENGTH(Sup.amendments) > 2))
               if len(s.amendments or []) > (s.amendments_reviewed or 0)]
    return sorted(list(submitted) + amended, key=lambda s: (s.day, s.id))


def previous_digest_ids(client: Client) -> set[int]:
    last = (Effect.select().where((Effect.kind == "hr_digest")
                                  & (Effect.key.startswith(Keys.hr_digest_prefix(client.slug))))
            .order_by(Effect.id.desc()).first())
    return set(last.data.get("sup_ids", [])) if last else set()


def queue_hr_digest(settings: Settings, client: Client, day: date, now: datetime) -> Effect | None:
    sups = pending_reviews(client)
    if not sups:
        return None
    previous = previous_digest_ids(client)
    with db.atomic():
        effect = Effect.create(key=Keys.hr_digest(client.slug, day), kind="hr_digest",
                               created_at=utcnow_naive(now), done_at=utcnow_naive(now),
                               data={"client": client.id, "day": str(day),
                                     "sup_ids": [s.id for s in sups],
                                     "versions": {str(s.id): review.version(s) for s in sups}})
        rendered = compose.render(messages.hr_digest(client, sups, previous, day,
                                                         Links.of(settings)))
        outbox.enqueue(settings, key=Keys.hr_digest_mail(effect.id), kind="hr_digest",
                       to=[client.hr.email], rendered=rendered, now=now,
                       reply_to=tokens.address_for(settings, "d", effect.id))
    return effect


def send_hr_digests(settings: Settings, now: datetime) -> list[Effect]:
    sent = []
    for client in Client.select().where(Client.hr.is_null(False)):
        day = due_day(client.hr, schedule_for(settings, client).hr_digest_time, now)
        if day is None or Effect.get_or_none(Effect.key == Keys.hr_digest(client.slug, day)):
            continue
        try:
            effect = queue_hr_digest(settings, client, day, now)
        except IntegrityError:
            continue  # another worker sent it
        if effect is not None:
            sent.append(effect)
    return sent
