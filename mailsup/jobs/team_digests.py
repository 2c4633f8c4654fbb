"""The team digest: one mail per person per day, covering all their teams.

A team's digest is of date D, its clock's local date (its delivery manager's,
else its first member's), and lists each member's SUP *of D* whatever their
zone (``context.team_section``). Each recipient — every member and each
team's delivery manager — gets one mail a day at their own local
``team_digest_time``, with a section per team: that team's D at that instant.
A team gets no section for a D before its first SUP or on which no member
works; a recipient on leave gets none, and with no section, no mail.

``team_digests:{person}:{day}`` records each recipient's day, mail or not,
and the last D it covered per team, so a date is never shown twice; if a
daylight-saving change moves a team's date on by two, the next mail carries
both. Built from ``outbound.context``, which has no access path to notes,
flags or reviews.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial

from peewee import fn

from mailsup.clock import Calendar, aware, local_date, local_instant, utcnow_naive
from mailsup.config import Schedule, Settings
from mailsup.database import insert_new
from mailsup.directory import leave_of, schedule_for
from mailsup.jobs.batches import in_batches
from mailsup.models import Client, Effect, Keys, Membership, Org, Person, Team, db
from mailsup.outbound import compose, context, messages, outbox
from mailsup.outbound.links import Links


def team_timezone_person(team: Team) -> Person | None:
    """The team's clock: its delivery manager's, else its first member's."""
    if team.delivery_manager_id:
        return team.delivery_manager
    return (Person.select().join(Membership).where(Membership.team == team)
            .order_by(Person.email).first())


@dataclass
class Teams:
    """Every team, who is in it and who gets its digest, loaded once per tick.

    Ids, zones and addresses only: a tick when nothing is due must stay cheap
    for thousands of people; whole rows are read for the few who are due.
    """

    settings: Settings
    teams: dict[int, Team] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    zones: dict[int, str] = field(default_factory=dict)
    emails: dict[int, str] = field(default_factory=dict)
    of_person: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    schedules: dict[int, Schedule] = field(default_factory=dict)
    rows: dict[int, Person] = field(default_factory=dict)
    leave: dict[int, list] = field(default_factory=dict)  # of the people in ``rows``

    def schedule(self, team: Team) -> Schedule:
        client = team.org.client
        if client.id not in self.schedules:
            self.schedules[client.id] = schedule_for(self.settings, client)
        return self.schedules[client.id]

    def clock(self, team: Team) -> str:
        if team.delivery_manager_id:
            return self.zones[team.delivery_manager_id]
        return self.zones[min(self.members[team.id], key=lambda p: self.emails[p])]

    def digest_time(self, person_id: int) -> time:
        """A person's digest time: the earliest of their teams' clients'."""
        return min(self.schedule(self.teams[t]).team_digest_time
                   for t in self.of_person[person_id])

    def people(self, ids: list[int]) -> list[Person]:
        missing = [i for i in ids if i not in self.rows]
        if missing:
            self.rows |= {p.id: p for p in Person.select().where(Person.id.in_(missing))}
            self.leave |= leave_of(missing)
        return [self.rows[i] for i in ids]

    def calendar(self, person: Person) -> Calendar:
        return Calendar.of(person, self.leave.get(person.id, []))

    def person(self, person_id: int) -> Person:
        return self.people([person_id])[0]


def load_teams(settings: Settings, team_ids: list[int] | None = None) -> Teams:
    """Every team (or only ``team_ids``: the rest stay out of ``teams`` and ``members``)."""
    world = Teams(settings)
    teams = Team.select(Team, Org, Client).join(Org).join(Client)
    memberships = Membership.select(Membership.team, Person.id, Person.email,
                                    Person.timezone).join(Person)
    if team_ids is not None:
        teams = teams.where(Team.id.in_(team_ids))
        memberships = memberships.where(Membership.team.in_(team_ids))
    world.teams = {t.id: t for t in teams}
    for team_id, person_id, email, tz in memberships.tuples():
        world.members[team_id].append(person_id)
        world.zones[person_id], world.emails[person_id] = tz, email
        world.of_person[person_id].add(team_id)
    managers = {t.delivery_manager_id for t in world.teams.values() if t.delivery_manager_id}
    for person_id, email, tz in Person.select(Person.id, Person.email, Person.timezone).where(
            Person.id.in_(list(managers))).tuples():
        world.zones[person_id], world.emails[person_id] = tz, email
    for team in world.teams.values():
        if team.delivery_manager_id and world.members[team.id]:
            world.of_person[team.delivery_manager_id].add(team.id)
    return world


def recipients_of(client: Client):
    """Who gets a digest section of the client's teams, as a condition on Person (no rows
    loaded): every member, and each delivery manager of a team that has members."""
    of_client, led = Team.alias(), Team.alias()
    teams = of_client.select(of_client.id).join(Org).where(Org.client == client)
    managers = led.select(led.delivery_manager).where(
        led.id.in_(teams) & led.delivery_manager.is_null(False)
        & fn.EXISTS(Membership.select(Membership.id).where(Membership.team == led.id)))
    return Person.id.in_(Membership.select(Membership.person).where(Membership.team.in_(teams))) \
        | Person.id.in_(managers)


def anyone_due(settings: Settings, now: datetime) -> bool:
    """Is ``due_people`` not empty? Asked without loading anyone, for every minute's tick.

    ``load_teams`` reads every membership: thousands of rows a minute for a tick
    with nothing to do. A recipient is due once the digest time of one of their
    teams' clients has passed in their zone today and today has no record yet, so
    per client and per zone of its recipients (few) whose digest time has passed,
    one query asks the database for a recipient without today's record (the keys
    are looked up in its index, no row comes back). Exactly ``due_people``'s
    question, so a tick that answers no would have found nobody.
    """
    for client in Client.select():
        at, recipient = schedule_for(settings, client).team_digest_time, recipients_of(client)
        for (tz,) in Person.select(Person.timezone).where(recipient).distinct().tuples():
            day = local_date(now, tz)
            if aware(now) < local_instant(day, at, tz):
                continue
            recorded = Effect.select(Effect.id).where(
                Effect.key == Keys.in_sql(Keys.team_digests, Person.id, day))
            if Person.select(Person.id).where(recipient & (Person.timezone == tz)
                                              & ~fn.EXISTS(recorded)).exists():
                return True
    return False


def due_people(world: Teams, now: datetime) -> dict[int, date]:
    """Recipients whose digest time has come today, and have no record for today yet."""
    due, local = {}, {}
    for person_id in world.of_person:
        tz, at = world.zones[person_id], world.digest_time(person_id)
        if (tz, at) not in local:  # once per zone and time, not per person
            day = local_date(now, tz)
            local[(tz, at)] = day if aware(now) >= local_instant(day, at, tz) else None
        if local[(tz, at)] is not None:
            due[person_id] = local[(tz, at)]
    keys = [Keys.team_digests(p, d) for p, d in due.items()]
    done = {e.key for e in Effect.select(Effect.key).where(Effect.key.in_(keys))} if keys \
        else set()
    return {p: d for p, d in due.items() if Keys.team_digests(p, d) not in done}


def earlier_records(due: dict[int, date]) -> dict[int, Effect]:
    """Each recipient's record of one of the two days before (the latest)."""
    keys = {Keys.team_digests(p, d - timedelta(days=back)): p for p, d in due.items()
            for back in (1, 2)}
    found: dict[int, Effect] = {}
    for effect in Effect.select().where(Effect.key.in_(list(keys))).order_by(Effect.id):
        found[keys[effect.key]] = effect
    return found


NOBODY_WORKS = "nobody works"  # a date settled without a section, unlike "no SUP yet"


class Sections:
    """Each (team, D) section computed once per tick, whoever it is for."""

    def __init__(self, world: Teams, now: datetime):
        self.world, self.now, self.made = world, now, {}

    def get(self, team: Team, day: date) -> dict | str | None:
        """The section; ``NOBODY_WORKS``; or None before the team's first SUP."""
        if (team.id, day) not in self.made:
            self.made[(team.id, day)] = self._make(team, day)
        return self.made[(team.id, day)]

    def _make(self, team: Team, day: date) -> dict | str | None:
        members = self.world.people(self.world.members[team.id])
        # One member's holiday must not cancel everyone's digest: "any member works".
        if not any(self.world.calendar(m).is_business_day(day) for m in members):
            return NOBODY_WORKS
        first = context.first_sup_day(team)
        if first is None or day < first:
            return None
        return context.team_section(team, day, self.now, self.world.schedule(team).sup_time)


def covered_of(record: Effect | None) -> dict[int, date]:
    data = record.data if record is not None else {}
    return {int(k): date.fromisoformat(v) for k, v in (data.get("covered") or {}).items()}


def plan(world: Teams, sections: Sections, person_id: int, day: date, record: Effect | None,
         ) -> tuple[list[dict], dict[int, date]]:
    """The sections of one recipient's mail of their ``day``, and what it covers per team.

    Each team's D is its clock's date at the recipient's digest time that day (not
    at the tick that sends it, which may come late). A date is covered once shown,
    or once it is settled that nobody works then; before a team's first SUP it is
    not, so a team that starts later that day is not skipped.
    """
    person = world.person(person_id)
    at = local_instant(day, world.digest_time(person_id), person.timezone)
    covered, chosen = covered_of(record), []
    consecutive = record is not None and record.key == Keys.team_digests(
        person_id, day - timedelta(days=1))
    # Someone on leave is not mailed their teams' plans; back, they get the current ones.
    away = world.calendar(person).on_leave(day)
    teams = sorted((world.teams[t] for t in world.of_person[person_id]),
                   key=lambda t: (t.org.client.name, t.name))
    for team in teams:
        d, last = local_date(at, world.clock(team)), covered.get(team.id)
        # A daylight-saving change can move a team's date on by two between two days.
        days = [d - timedelta(days=1), d] if consecutive and last == d - timedelta(days=2) \
            else [d]
        for one in (x for x in days if last is None or x > last):
            section = NOBODY_WORKS if away else sections.get(team, one)
            if isinstance(section, dict):
                chosen.append(section)
            if section is not None:
                covered[team.id] = max(one, covered.get(team.id, one))
    return chosen, covered


BATCH = 200  # recipients (and their mails) per transaction in the catch-up tick
Planned = tuple[Person, date, list[dict], dict[int, date]]  # who, day, sections, covered


def send_batch(settings: Settings, batch: list[Planned], now: datetime) -> list[Effect]:
    """Record and queue a batch of recipients' digests in one transaction.

    ``team_digests:{person}:{day}`` is recorded even when nothing is to be said
    (what it covers is what the next day's digest builds on); a record another
    worker made meanwhile is skipped by the database, and gets no mail from this
    call. Returns the records of the mails this call queued.
    """
    stamp, links = utcnow_naive(now), Links.of(settings)
    records, mails = [], {}
    for person, day, chosen, covered in batch:
        key = Keys.team_digests(person.id, day)
        records.append({"key": key, "kind": "team_digests", "created_at": stamp,
                        "done_at": stamp, "data": {
                            "to": person.email,
                            "sections": [[s["team_id"], str(s["day"])] for s in chosen],
                            "covered": {str(k): str(v) for k, v in covered.items()}}})
        if chosen:
            mails[key] = outbox.Outgoing(
                key=key, kind="team_digest", to=[person.email],
                rendered=compose.render(messages.team_digest(person, chosen, links)))
    with db.atomic():
        mine = {key for (key,) in insert_new(Effect, records, (Effect.key,))}
        outbox.enqueue_many(settings, [m for k, m in mails.items() if k in mine], now,
                            check_queued=False)
    return [Effect(key=r["key"], kind=r["kind"], created_at=stamp, done_at=stamp,
                   data=r["data"]) for r in records if r["key"] in mine and r["key"] in mails]


def send_team_digests(settings: Settings, now: datetime) -> list[Effect]:
    if not anyone_due(settings, now):
        return []
    world = load_teams(settings)
    due = due_people(world, now)
    if not due:
        return []
    records, sections = earlier_records(due), Sections(world, now)
    planned = [(world.person(person_id), day,
                *plan(world, sections, person_id, day, records.get(person_id)))
               for person_id, day in sorted(due.items())]
    return in_batches(planned, BATCH, partial(send_batch, settings, now=now),
                      lambda one: one[0].email, "team digests")


def sections_for(settings: Settings, person: Person, now: datetime) -> list[dict]:
    """What the person's digest of today says: as recorded if it went out, else as it
    would go now (``mailsup preview`` shows exactly this)."""
    world, day = load_teams(settings), local_date(now, person.timezone)
    record = Effect.get_or_none(Effect.key == Keys.team_digests(person.id, day))
    if record is not None:
        sections = Sections(world, aware(record.created_at))
        return [s for team_id, d in record.data.get("sections", [])
                if team_id in world.teams
                and isinstance(s := sections.get(world.teams[team_id], date.fromisoformat(d)),
                               dict)]
    if person.id not in world.of_person:
        return []
    earlier = earlier_records({person.id: day}).get(person.id)
    return plan(world, Sections(world, now), person.id, day, earlier)[0]
