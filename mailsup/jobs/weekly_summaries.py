"""The weekly participation summary: each delivery manager, once a week, their teams' last week.

On the manager's first business day of the week, at their digest time, one
mail per manager with a section per team they lead: per person, the SUPs of
the previous Monday–Sunday submitted on time, late, missed, skipped (and any
still open). ``weekly_summary:{person}:{monday}`` makes it once a week; a
week in which none of their teams had a SUP is recorded and sends nothing.
If the service was down that morning, it goes out when it is back, that week.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from peewee import IntegrityError, fn, prefetch

from mailsup.clock import Calendar, aware, local_date, local_instant, utcnow_naive
from mailsup.config import Settings
from mailsup.jobs.team_digests import Teams, load_teams
from mailsup.models import Client, Effect, Keys, Leave, Membership, Org, Person, Sup, Team, db
from mailsup.outbound import compose, context, messages, outbox

WEEK = timedelta(days=7)


def first_business_day(person: Person, monday: date) -> date | None:
    calendar = Calendar.of(person)
    return next((monday + timedelta(days=i) for i in range(7)
                 if calendar.is_business_day(monday + timedelta(days=i))), None)


def is_due(world: Teams, person: Person, teams: list[Team], monday: date,
           now: datetime) -> bool:
    first = first_business_day(person, monday)
    if first is None or local_date(now, person.timezone) < first:
        return False
    at = min(world.schedule(t).team_digest_time for t in teams)
    return aware(now) >= local_instant(first, at, person.timezone)


def week_section(world: Teams, team: Team, start: date) -> dict | None:
    """One team's week from ``start`` (a Monday): a row per member who had SUPs."""
    members = {m.id: m for m in world.people(world.members[team.id])}
    per_person = defaultdict(list)
    for sup in Sup.select().where((Sup.client == team.org.client)
                                  & Sup.developer.in_(list(members))
                                  & (Sup.day >= start) & (Sup.day < start + WEEK)):
        per_person[sup.developer_id].append(sup)
    if not per_person:
        return None
    rows = [{"name": members[pid].name} | context.participation(sups)
            for pid, sups in sorted(per_person.items(), key=lambda kv: members[kv[0]].name)]
    totals = {k: sum(r[k] for r in rows) for k in ("on_time", "late", "missed", "skipped",
                                                    "open")}
    return {"team_name": team.name, "client_name": team.org.client.name, "rows": rows,
            "totals": totals}


def sections_of(world: Teams, teams: list[Team], start: date) -> list[dict]:
    return [s for t in sorted(teams, key=lambda t: (t.org.client.name, t.name))
            if (s := week_section(world, t, start)) is not None]


def send_one(settings: Settings, world: Teams, person: Person, teams: list[Team],
             monday: date, now: datetime) -> Effect | None:
    start = monday - WEEK
    sections = sections_of(world, teams, start)
    key, stamp = Keys.weekly_summary(person.id, monday), utcnow_naive(now)
    rendered = compose.render(messages.weekly_summary(person, start, sections)) \
        if sections else None
    try:
        with db.atomic():
            effect = Effect.create(key=key, kind="weekly_summary", created_at=stamp,
                                   done_at=stamp, data={"week": str(start), "sections": sections})
            if rendered is not None:
                outbox.enqueue(settings, key=key, kind="weekly_summary", to=[person.email],
                               rendered=rendered, now=now)
    except IntegrityError:
        return None
    return effect if rendered is not None else None


def led_teams() -> dict[int, list[Team]]:
    """Each delivery manager's teams that have members (an EXISTS per team), with their
    org and client: found without loading a membership."""
    has_members = fn.EXISTS(Membership.select(Membership.id).where(Membership.team == Team.id))
    led = defaultdict(list)
    for team in (Team.select(Team, Org, Client).join(Org).join(Client)
                 .where(Team.delivery_manager.is_null(False) & has_members)):
        led[team.delivery_manager_id].append(team)
    return led


def send_weekly_summaries(settings: Settings, now: datetime) -> list[Effect]:
    """Who is due is found from the managers and their teams alone; the members are
    loaded only for the teams of a summary that goes out (a tick a minute must not
    read every membership to find that nobody is due)."""
    led = led_teams()
    if not led:
        return []
    # Their leave with them (one query): the calendar of each is read below.
    managers = {p.id: p for p in prefetch(Person.select().where(Person.id.in_(list(led))),
                                          Leave.select())}
    weeks = {}
    for person_id in led:
        today = local_date(now, managers[person_id].timezone)
        weeks[person_id] = today - timedelta(days=today.weekday())
    keys = [Keys.weekly_summary(p, monday) for p, monday in weeks.items()]
    done = {e.key for e in Effect.select(Effect.key).where(Effect.key.in_(keys))}
    schedules = Teams(settings)  # only its per-client schedules, for ``is_due``
    due = [person_id for person_id, monday in sorted(weeks.items())
           if Keys.weekly_summary(person_id, monday) not in done
           and is_due(schedules, managers[person_id], led[person_id], monday, now)]
    if not due:
        return []
    world = load_teams(settings, [t.id for person_id in due for t in led[person_id]])
    sent = []
    for person_id in due:
        teams = [world.teams[t.id] for t in led[person_id]]
        effect = send_one(settings, world, world.person(person_id), teams, weeks[person_id],
                          now)
        if effect is not None:
            sent.append(effect)
    return sent
