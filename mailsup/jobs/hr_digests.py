"""The HR digest: once a day per client, the SUPs waiting for the HR worker's review,
and who missed their SUP since the last digest.

The HR digest is the one mail that carries HR-only fields (through
``outbound.hr_context``), and it goes only to the client's HR worker. Its
Effect records which SUPs, in which version, it showed, so that "reviewed"
covers exactly what HR saw.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from peewee import IntegrityError, fn

from mailsup import review, tokens
from mailsup.clock import Calendar, aware, local_date, local_instant, utcnow_naive
from mailsup.config import Settings
from mailsup.directory import schedule_for
from mailsup.models import Client, Effect, Keys, Person, Sup, db
from mailsup.outbound import compose, messages, outbox
from mailsup.outbound.links import Links

# The first digest of a client lists who missed in the week before it.
FIRST_LOOK_BACK = timedelta(days=7)


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
    last = last_digest(client)
    return set(last.data.get("sup_ids", [])) if last else set()


def last_digest(client: Client) -> Effect | None:
    return (Effect.select().where((Effect.kind == "hr_digest")
                                  & (Effect.key.startswith(Keys.hr_digest_prefix(client.slug))))
            .order_by(Effect.id.desc()).first())


def missed_since(client: Client, now: datetime) -> list[Sup]:
    """SUPs of the client that became missed since its last HR digest (or in the last week)."""
    last = last_digest(client)
    since = last.created_at if last else utcnow_naive(now) - FIRST_LOOK_BACK
    return list(Sup.select(Sup, Person).join(Person, on=(Sup.developer == Person.id))
                .switch(Sup).join(Effect, on=(Effect.sup == Sup.id))
                .where((Sup.client == client) & (Effect.kind == "missed")
                       & (Effect.created_at > since))
                .order_by(Sup.day, Person.name))


def queue_hr_digest(settings: Settings, client: Client, day: date, now: datetime) -> Effect | None:
    sups, missed = pending_reviews(client), missed_since(client, now)
    if not sups and not missed:
        return None
    previous = previous_digest_ids(client)
    with db.atomic():
        effect = Effect.create(key=Keys.hr_digest(client.slug, day), kind="hr_digest",
                               created_at=utcnow_naive(now), done_at=utcnow_naive(now),
                               data={"client": client.id, "day": str(day),
                                     "sup_ids": [s.id for s in sups],
                                     "missed_ids": [s.id for s in missed],
                                     "versions": {str(s.id): review.version(s) for s in sups}})
        rendered = compose.render(messages.hr_digest(client, sups, previous, day,
                                                     Links.of(settings), missed=missed))
        outbox.enqueue(settings, key=Keys.hr_digest_mail(effect.id), kind="hr_digest",
                       to=[client.hr.email], rendered=rendered, now=now,
                       reply_to=tokens.address_for(settings, "d", effect.id, day))
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
