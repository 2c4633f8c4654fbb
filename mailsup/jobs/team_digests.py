"""The HR digest (per client) and the team digest (per team), once a day each.

The HR digest is the one mail that carries HR-only fields, and it goes only
to the client's HR worker. The team digest is built from ``views.team_entry``,
which has no access path to notes, flags or reviews.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from peewee import IntegrityError, fn

from mailsup import review, tokens
from mailsup.clock import Calendar, aware, local_date, local_instant
from mailsup.config import Settings
from mailsup.jobs.create_sups import client_schedule
from mailsup.models import Client, Effect, Membership, Person, Sup, Team, db, utcnow_naive
from mailsup.outbound import compose, outbox
from mailsup.outbound import context as views

log = logging.getLogger("mailsup.digests")


def _due_day(person: Person, at, now: datetime) -> date | None:
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


def _previous_digest_ids(client: Client) -> set[int]:
    last = (Effect.select().where((Effect.kind == "hr_digest")
                                  & (Effect.key.startswith(f"hr_digest:{client.slug}:")))
            .order_by(Effect.id.desc()).first())
    return set(last.data.get("sup_ids", [])) if last else set()


def hr_digest_context(client: Client, sups: list[Sup], previous: set[int]) -> dict:
    return {"client_name": client.name, "hr_name": views.first_name(client.hr.name),
            "items": [views.hr_entry(s, s.id not in previous) for s in sups],
            "title": f"{client.name} SUPs to review", "ref": "",
            "footer": "reply with commands, one per line"}


def queue_hr_digest(settings: Settings, client: Client, day: date, now: datetime) -> Effect | None:
    sups = pending_reviews(client)
    if not sups:
        return None
    previous = _previous_digest_ids(client)
    with db.atomic():
        effect = Effect.create(key=f"hr_digest:{client.slug}:{day}", kind="hr_digest",
                               created_at=utcnow_naive(now), done_at=utcnow_naive(now),
                               data={"client": client.id, "day": str(day),
                                     "sup_ids": [s.id for s in sups],
                                     "versions": {str(s.id): review.version(s) for s in sups}})
        token = tokens.sign(settings.secret, "d", effect.id)
        rendered = compose.render("hr_digest", f"{client.name}: {len(sups)} SUP"
                                  f"{'s' if len(sups) != 1 else ''} to review ({day:%a %d %b})",
                                  hr_digest_context(client, sups, previous))
        outbox.enqueue(settings, key=f"hr_digest:{effect.id}", kind="hr_digest",
                       to=[client.hr.email], rendered=rendered, now=now,
                       reply_to=tokens.reply_address(settings.reply_address, token))
    return effect


def send_hr_digests(settings: Settings, now: datetime) -> list[Effect]:
    sent = []
    for client in Client.select().where(Client.hr.is_null(False)):
        day = _due_day(client.hr, client_schedule(settings, client).hr_digest_time, now)
        if day is None or Effect.get_or_none(Effect.key == f"hr_digest:{client.slug}:{day}"):
            continue
        try:
            effect = queue_hr_digest(settings, client, day, now)
        except IntegrityError:
            continue  # another worker sent it
        if effect is not None:
            sent.append(effect)
    return sent


def team_timezone_person(team: Team) -> Person | None:
    """The team's clock: its delivery manager's, else its first member's."""
    if team.delivery_manager_id:
        return team.delivery_manager
    first = (Person.select().join(Membership).where(Membership.team == team)
             .order_by(Person.email).first())
    return first


def team_clock_day(team: Team, at, now: datetime) -> date | None:
    """The team's day once ``at`` has passed on its clock."""
    clock = team_timezone_person(team)
    if clock is None:
        return None
    day = local_date(now, clock.timezone)
    if aware(now) < local_instant(day, at, clock.timezone):
        return None
    return day


def anyone_works(team: Team, day: date) -> bool:
    """One member's public holiday (or the delivery manager's) must not cancel the
    digest for everyone else, so the business-day test is "any member"."""
    members = Person.select().join(Membership).where(Membership.team == team)
    return any(Calendar.of(m).is_business_day(day) for m in members)


def team_digest_context(team: Team, day: date, now: datetime | None = None,
                        sup_time=None) -> dict:
    """Each member as of their own local day: west of the team's clock, today's
    SUP may not exist yet, which is "later", not "no SUP today"."""
    client = team.org.client
    members = list(Person.select().join(Membership).where(Membership.team == team)
                   .order_by(Person.name))
    days = {m.id: local_date(now, m.timezone) if now else day for m in members}
    sups = {(s.developer_id, s.day): s for s in Sup.select().where(
        (Sup.client == client) & Sup.developer.in_([m.id for m in members])
        & Sup.day.in_(list(set(days.values()))))}
    entries = []
    for m in members:
        entry = views.team_entry(m, sups.get((m.id, days[m.id])))
        if entry["state"] == "none" and now is not None and sup_time is not None and \
                aware(now) < local_instant(days[m.id], sup_time, m.timezone):
            entry["state"] = "later"
        entries.append(entry)
    return {"team_name": team.name, "client_name": client.name, "day_long": views.day_long(day),
            "entries": entries, "missing": [e["name"] for e in entries if e["state"] == "open"],
            "title": f"{team.name} today", "ref": "", "footer": "team digest"}


def send_team_digests(settings: Settings, now: datetime) -> list[Effect]:
    sent = []
    for team in Team.select():
        schedule = client_schedule(settings, team.org.client)
        day = team_clock_day(team, schedule.team_digest_time, now)
        key = f"team_digest:{team.id}:{day}"
        # Sent already is the common case all afternoon: check it before the
        # per-member calendars, which cost a query each.
        if day is None or Effect.get_or_none(Effect.key == key) or not anyone_works(team, day):
            continue
        ctx = team_digest_context(team, day, now, schedule.sup_time)
        to = sorted({e["email"] for e in ctx["entries"]}
                    | ({team.delivery_manager.email} if team.delivery_manager_id else set()))
        rendered = compose.render("team_digest", f"{team.name} ({ctx['client_name']}) plans for "
                                  f"{day:%a %d %b}", ctx)
        try:
            with db.atomic():
                effect = Effect.create(key=key, kind="team_digest", created_at=utcnow_naive(now),
                                       done_at=utcnow_naive(now), data={"to": to})
                outbox.enqueue(settings, key=key, kind="team_digest", to=to,
                               rendered=rendered, now=now)
        except IntegrityError:
            continue
        sent.append(effect)
    return sent
