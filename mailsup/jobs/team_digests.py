"""The team digest: once a day per team, what everyone plans, on the team's clock.

Built from ``outbound.context.team_members``, which has no access path to
notes, flags or reviews.
"""

from __future__ import annotations

from datetime import date, datetime

from peewee import IntegrityError

from mailsup.clock import Calendar, aware, local_date, local_instant, utcnow_naive
from mailsup.config import Settings
from mailsup.directory import schedule_for
from mailsup.models import Effect, Keys, Membership, Person, Team, db
from mailsup.outbound import compose, context, messages, outbox
from mailsup.web.links import Links


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


def send_team_digests(settings: Settings, now: datetime) -> list[Effect]:
    sent = []
    for team in Team.select():
        client = team.org.client
        schedule = schedule_for(settings, client)
        day = team_clock_day(team, schedule.team_digest_time, now)
        key = Keys.team_digest(team.id, day)
        # Sent already is the common case all afternoon: check it before the
        # per-member calendars, which cost a query each.
        if day is None or Effect.get_or_none(Effect.key == key) or not anyone_works(team, day):
            continue
        entries = context.team_members(team, day, now, schedule.sup_time)
        to = sorted({e["email"] for e in entries}
                    | ({team.delivery_manager.email} if team.delivery_manager_id else set()))
        rendered = compose.render(messages.team_digest(team, client, day, entries,
                                                           Links.of(settings)))
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
