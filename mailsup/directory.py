"""The directory: clients, orgs, repos, teams and people (design §2, §7).

``load_file`` validates the whole TOML file before it touches the database and
applies it in one transaction, so a bad file changes nothing. Loading the same
file twice changes nothing; loading an edited file updates what it names.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from peewee import chunked

from mailsup.clock import UnknownTimeZone, check_holiday_country, zone
from mailsup.config import ConfigError, Schedule
from mailsup.database import is_sqlite
from mailsup.errors import UserError
from mailsup.models import (
    WEEKDAYS,
    Alias,
    Client,
    DeliveryManager,
    Effect,
    Keys,
    Leave,
    Membership,
    Org,
    Person,
    Repo,
    Team,
    db,
)


class DirectoryError(UserError):
    """A problem in a directory file, phrased as one actionable line."""


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.created and not self.updated:
            return "directory unchanged"
        return f"directory loaded: {len(self.created)} created, {len(self.updated)} updated"


_EMAIL = re.compile(r"^[^@\s,;<>\"()\[\]\\]+@[^@\s,;<>\"()\[\]\\]+$")


def _email(value: object, where: str) -> str:
    # Strict: the address goes into To: headers and is how replies are trusted.
    if not isinstance(value, str) or not _EMAIL.match(value.strip()):
        raise DirectoryError(f"{where}: {value!r} is not an email address")
    return value.strip().lower()


def _date(value: object, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DirectoryError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def read_file(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise DirectoryError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DirectoryError(f"{path}: is a folder; give the directory file in it "
                             "(e.g. directory.toml)") from None
    except PermissionError:
        raise DirectoryError(f"{path}: not readable by this user") from None
    except UnicodeDecodeError as exc:
        raise DirectoryError(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8") \
            from None
    except tomllib.TOMLDecodeError as exc:
        raise DirectoryError(f"{path}: malformed TOML: {exc}") from None


KEYS = {
    "people": {"email", "name", "aliases", "github", "slack", "timezone", "workdays",
               "holiday_country", "leave"},
    "clients": {"slug", "name", "orgs", "hr", "hr_repo", "delivery_managers", "schedule"},
    "teams": {"org", "slug", "name", "members", "delivery_manager"},
    "repos": {"org", "name"},
}


def _check_keys(data: dict, errors: list[str]) -> None:
    """A typo ("timzone", [[person]]) must fail loudly, not load as a default.

    Unknown keys are collected with the file's other errors; a wrong shape
    (an unknown table, a table that is not an array) stops at once, since
    nothing after it can be read.
    """
    for table, value in data.items():
        if table not in KEYS:
            raise DirectoryError(f"unknown table [[{table}]]{_did_you_mean(table, KEYS)}; "
                                 f"use {', '.join(f'[[{k}]]' for k in KEYS)}")
        if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
            raise DirectoryError(f"[{table}] must be an array of tables: write [[{table}]]")
        for i, entry in enumerate(value):
            for key in entry:
                if key not in KEYS[table]:
                    errors.append(f"{table}[{i}]: unknown key {key!r}"
                                  f"{_did_you_mean(key, KEYS[table])}")


# Where a value is stored: a longer one is refused naming the field, instead of
# PostgreSQL's "value too long for type character varying(255)" as "database unavailable".
COLUMNS = {"people": (Person, {"aliases": Alias.email}), "clients": (Client, {"orgs": Org.login}),
           "teams": (Team, {})}


def _too_long(where: str, table: str, entry: dict) -> list[str]:
    model, lists = COLUMNS[table]
    problems = []
    for key, value in entry.items():
        field = model._meta.fields.get(key)
        values = value if key in lists and isinstance(value, list) else [value]
        field = lists.get(key, field)
        limit = getattr(field, "max_length", None)
        for item in values:
            if limit and isinstance(item, str) and len(item) > limit:
                problems.append(f"{where}.{key}: {len(item):,} characters, at most {limit}")
    return problems


def _did_you_mean(word: str, choices) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _validate_person(entry: dict, where: str) -> dict:
    email = _email(entry.get("email"), f"{where}.email")
    if "timezone" not in entry:
        raise DirectoryError(f"{where} ({email}): timezone is required, e.g. "
                             'timezone = "Europe/Berlin"')
    tz = entry["timezone"]
    try:
        zone(str(tz))
    except UnknownTimeZone as exc:
        raise DirectoryError(f"{where} ({email}): {exc}") from None
    workdays = [str(d).lower()[:3] for d in entry.get("workdays", WEEKDAYS[:5])]
    bad = [d for d in workdays if d not in WEEKDAYS]
    if bad:
        raise DirectoryError(f"{where} ({email}): unknown workday {bad[0]!r}; use mon..sun")
    country = entry.get("holiday_country")
    if country:
        try:
            check_holiday_country(str(country))
        except ValueError as exc:
            raise DirectoryError(f"{where} ({email}): {exc}") from None
    leave = []
    for i, span in enumerate(entry.get("leave", [])):
        if not isinstance(span, list | tuple) or len(span) != 2:
            raise DirectoryError(f"{where} ({email}): leave[{i}] must be [start, end]")
        start, end = _date(span[0], f"{where}.leave"), _date(span[1], f"{where}.leave")
        if end < start:
            raise DirectoryError(f"{where} ({email}): leave[{i}] ends before it starts")
        leave.append((start, end))
    return {
        "email": email,
        "name": str(entry.get("name") or email.split("@")[0]),
        "aliases": sorted({_email(a, f"{where}.aliases") for a in entry.get("aliases", [])}),
        "github": entry.get("github") or None,
        "slack": entry.get("slack") or None,
        "timezone": str(tz),
        "workdays": ",".join(d for d in WEEKDAYS if d in workdays),
        "holiday_country": str(country) if country else None,
        "leave": sorted(leave),
    }


def _check_unique_addresses(people: list[dict]) -> None:
    """Each address names one person: replies are authenticated by it."""
    owner: dict[str, str] = {}
    for p in people:
        for address in [p["email"], *p["aliases"]]:
            if address in owner and owner[address] != p["email"] or \
                    address == p["email"] and address in owner:
                raise DirectoryError(f"{address} appears twice in [[people]] "
                                     f"({owner[address]} and {p['email']}); "
                                     "each address may belong to one person once")
            owner[address] = p["email"]
    for alias in Alias.select(Alias, Person).join(Person):
        holder = owner.get(alias.email)
        if holder and holder != alias.person.email:
            raise DirectoryError(f"{alias.email} is already an alias of {alias.person.email}")


def _person_ref(emails: set[str]):
    def ref(value: object, where: str) -> str:
        email = _email(value, where)
        if email not in emails:
            raise DirectoryError(f"{where}: {email} is not in [[people]]; add them there first")
        return email
    return ref


def _validate_client(entry: dict, where: str, person_ref,
                     base_schedule: Schedule | None) -> dict:
    slug = entry.get("slug")
    if not slug:
        raise DirectoryError(f"{where}: slug is required")
    schedule = dict(entry.get("schedule", {}))
    if base_schedule is not None:
        try:
            base_schedule.override(schedule, f"{where}.schedule")
        except ConfigError as exc:
            raise DirectoryError(str(exc)) from None
    return {
        "slug": str(slug),
        "name": str(entry.get("name") or slug),
        "orgs": [str(o) for o in entry.get("orgs", [])],
        "hr": person_ref(entry["hr"], f"{where}.hr") if entry.get("hr") else None,
        "hr_repo": entry.get("hr_repo") or None,
        "delivery_managers": [
            person_ref(e, f"{where}.delivery_managers")
            for e in entry.get("delivery_managers", [])
        ],
        "schedule": schedule,
    }


def _validate_team(entry: dict, where: str, person_ref, known_orgs: set[str]) -> dict:
    if entry.get("org") not in known_orgs:
        raise DirectoryError(f"{where}: org {entry.get('org')!r} belongs to no client")
    if not entry.get("slug"):
        raise DirectoryError(f"{where}: slug is required")
    dm = entry.get("delivery_manager")
    return {
        "org": entry["org"],
        "slug": str(entry["slug"]),
        "name": str(entry.get("name") or entry["slug"]),
        "members": [person_ref(m, f"{where}.members") for m in entry.get("members", [])],
        "delivery_manager": person_ref(dm, f"{where}.delivery_manager") if dm else None,
    }


def validate(data: dict, known_people: set[str], base_schedule: Schedule | None = None) -> dict:
    """Check the whole file; returns normalised data or raises DirectoryError.

    Every error of the file is reported at once, so an operator
    fixes them in one pass instead of one load per typo.
    """
    errors: list[str] = []

    def each(table: str, check, *args) -> list[dict]:
        checked = []
        for i, entry in enumerate(data.get(table, [])):
            where = f"{table}[{i}]"
            try:
                value = check(entry, where, *args)
            except DirectoryError as exc:
                errors.append(str(exc))
                continue
            too_long = _too_long(where, table, value)
            errors.extend(too_long)
            if not too_long:
                checked.append(value)
        return checked

    _check_keys(data, errors)
    people = each("people", _validate_person)
    try:
        _check_unique_addresses(people)
    except DirectoryError as exc:
        errors.append(str(exc))
    person_ref = _person_ref({p["email"] for p in people} | known_people)
    clients = each("clients", _validate_client, person_ref, base_schedule)
    known_orgs = {o for c in clients for o in c["orgs"]} | {o.login for o in Org.select()}
    teams = each("teams", _validate_team, person_ref, known_orgs)
    repos = []
    for i, entry in enumerate(data.get("repos", [])):
        if entry.get("org") not in known_orgs or not entry.get("name"):
            errors.append(f"repos[{i}]: needs an org of a client and a name")
        elif len(str(entry["name"])) > Repo.name.max_length:
            errors.append(f"repos[{i}].name: {len(str(entry['name'])):,} characters, "
                          f"at most {Repo.name.max_length}")
        else:
            repos.append((entry["org"], str(entry["name"])))
    if len(errors) == 1:
        raise DirectoryError(errors[0])
    if errors:
        # Still one line (the CLI's promise), every problem on it.
        raise DirectoryError(f"{len(errors)} problems: " + "; ".join(errors))
    return {"people": people, "clients": clients, "teams": teams, "repos": repos}


def _upsert(model, report: LoadReport, label: str, keys: dict, values: dict):
    row = model.get_or_none(**keys)
    if row is None:
        row = model.create(**keys, **values)
        report.created.append(label)
        row.just_created = True  # its sets (aliases, members…) are part of "created"
        return row
    changed = {k: v for k, v in values.items() if _value(getattr(row, k)) != _value(v)}
    if changed:
        model.update(**changed).where(model.id == row.id).execute()
        report.updated.append(label)
        row = model.get_by_id(row.id)
    return row


def _value(obj):
    return getattr(obj, "id", obj)


def _sync_set(current: set, wanted: set, add, remove) -> bool:
    """Make the stored set equal the file's; True if anything changed."""
    for item in wanted - current:
        add(item)
    for item in current - wanted:
        remove(item)
    return current != wanted


def _changed(report: LoadReport, row, label: str) -> None:
    if not getattr(row, "just_created", False):
        report.updated.append(label)


def _apply_person(p: dict, report: LoadReport) -> None:
    fields = {k: p[k] for k in ("name", "github", "slack", "timezone", "workdays",
                                "holiday_country")}
    person = _upsert(Person, report, f"person {p['email']}", {"email": p["email"]}, fields)
    aliases = {a.email for a in person.aliases}
    # An alias the person confirmed by mail stays, as leave set by mail does.
    keys = [Keys.alias_by_mail(a) for a in aliases]
    by_mail = {e.data.get("email") for e in Effect.select().where(
        (Effect.kind == "alias_by_mail") & Effect.key.in_(keys))} if keys else set()
    if _sync_set(aliases, set(p["aliases"]) | by_mail,
                 lambda e: Alias.create(person=person, email=e),
                 lambda e: Alias.delete().where(Alias.email == e).execute()):
        _changed(report, person, f"aliases of {p['email']}")
    # Only the file's own leave: what a person set by mail ("away until …") stays.
    leave = {(lv.start, lv.end) for lv in person.leaves if lv.source == "directory"}
    if _sync_set(leave, set(p["leave"]), lambda s: _add_leave(person, s),
                 lambda s: Leave.delete().where((Leave.person == person) & (Leave.start == s[0])
                                                & (Leave.end == s[1])
                                                & (Leave.source == "directory")).execute()):
        _changed(report, person, f"leave of {p['email']}")


def _add_leave(person: Person, span: tuple[date, date]) -> None:
    """The file names a span the person set by mail too: it becomes the file's."""
    updated = (Leave.update(source="directory")
               .where((Leave.person == person) & (Leave.start == span[0])
                      & (Leave.end == span[1])).execute())
    if not updated:
        Leave.create(person=person, start=span[0], end=span[1], source="directory")


def _apply_client(c: dict, people: dict, report: LoadReport) -> None:
    client = _upsert(Client, report, f"client {c['slug']}", {"slug": c["slug"]}, {
        "name": c["name"], "hr": people.get(c["hr"]), "hr_repo": c["hr_repo"],
        "schedule": c["schedule"],
    })
    for login in c["orgs"]:
        _upsert(Org, report, f"org {login}", {"login": login}, {"client": client})
    current = {dm.person.email for dm in client.delivery_managers}
    if _sync_set(current, set(c["delivery_managers"]),
                 lambda e: DeliveryManager.create(client=client, person=people[e]),
                 lambda e: DeliveryManager.delete().where(
                     (DeliveryManager.client == client)
                     & (DeliveryManager.person == people[e])).execute()):
        _changed(report, client, f"delivery managers of {c['slug']}")


def _apply_team(t: dict, people: dict, report: LoadReport) -> None:
    org = Org.get(Org.login == t["org"])
    team = _upsert(Team, report, f"team {t['org']}/{t['slug']}", {"org": org, "slug": t["slug"]},
                   {"name": t["name"], "delivery_manager": people.get(t["delivery_manager"])})
    current = {m.person.email for m in team.memberships}
    if _sync_set(current, set(t["members"]),
                 lambda e: Membership.create(team=team, person=people[e]),
                 lambda e: Membership.delete().where(
                     (Membership.team == team) & (Membership.person == people[e])).execute()):
        _changed(report, team, f"members of {t['org']}/{t['slug']}")


def apply(data: dict) -> LoadReport:
    report = LoadReport()
    with db.atomic():
        for p in data["people"]:
            _apply_person(p, report)
        people = {p.email: p for p in Person.select()}
        for c in data["clients"]:
            _apply_client(c, people, report)
        for t in data["teams"]:
            _apply_team(t, people, report)
        for org_login, name in data["repos"]:
            org = Org.get(Org.login == org_login)
            _upsert(Repo, report, f"repo {org_login}/{name}", {"org": org, "name": name}, {})
    if report.created:
        analyze()
    return report


DIRECTORY_TABLES = (Person, Alias, Leave, Client, DeliveryManager, Org, Repo, Team, Membership)


def analyze() -> None:
    """PostgreSQL: fresh statistics for the directory's tables after rows were added.

    Until autovacuum gets to them (a minute or more), the planner takes newly
    filled tables for nearly empty, and the next tick's "who is due" queries ran
    as nested loops over every membership per person: seconds at 10,000 people
    instead of milliseconds. SQLite plans from its indexes alone.
    """
    if is_sqlite():
        return
    for model in DIRECTORY_TABLES:
        db.execute_sql(f'ANALYZE "{model._meta.table_name}"')


def load_file(path: Path, base_schedule: Schedule | None = None) -> LoadReport:
    data = read_file(path)
    known = {p.email for p in Person.select(Person.email)}
    return apply(validate(data, known, base_schedule))


def schedule_for(settings, client: Client) -> Schedule:
    """The client's schedule: ``[schedule]`` of ``settings`` with its ``[clients.schedule]``."""
    return settings.schedule.override(client.schedule or {}, f"client {client.slug} schedule")


def leave_of(person_ids: list[int]) -> dict[int, list]:
    """Everyone's leave in one query (``Calendar.of(person, leave[id])``): a lookup per
    person made no-op ticks, and a late tick's team digests, grow with the people."""
    spans: dict[int, list] = {}
    for chunk in chunked(person_ids, 1000):
        for lv in Leave.select().where(Leave.person.in_(chunk)):
            spans.setdefault(lv.person_id, []).append((lv.start, lv.end))
    return spans


def developers_of(client: Client) -> list[Person]:
    """Everyone in any team of any org the client owns, once each."""
    query = (Person.select().join(Membership).join(Team).join(Org)
             .where(Org.client == client).distinct().order_by(Person.email))
    return list(query)


def repos_of(client: Client) -> list[str]:
    query = Repo.select(Repo, Org).join(Org).where(Org.client == client).order_by(Org.login,
                                                                                 Repo.name)
    return [r.full_name for r in query]


def person_by_address(address: str) -> Person | None:
    address = address.strip().lower()
    person = Person.get_or_none(Person.email == address)
    if person is None:
        alias = Alias.get_or_none(Alias.email == address)
        person = alias.person if alias else None
    return person


def show() -> str:
    """A readable dump of the directory for `mailsup directory show`."""
    lines = []
    for client in Client.select().order_by(Client.slug):
        hr = client.hr.email if client.hr else "-"
        dms = ", ".join(dm.person.email for dm in client.delivery_managers) or "-"
        lines.append(f"client {client.slug} ({client.name})  hr={hr}"
                     f"  hr_repo={client.hr_repo or '-'}  delivery_managers={dms}")
        if client.schedule:
            lines.append("  schedule " + ", ".join(f"{k}={v}" for k, v in client.schedule.items()))
        for org in client.orgs.order_by(Org.login):
            repos = ", ".join(r.name for r in org.repos.order_by(Repo.name)) or "-"
            lines.append(f"  org {org.login}  repos: {repos}")
            for team in org.teams.order_by(Team.slug):
                members = ", ".join(sorted(m.person.email for m in team.memberships)) or "-"
                dm = f"  dm={team.delivery_manager.email}" if team.delivery_manager else ""
                lines.append(f"    team {team.slug} ({team.name}){dm}: {members}")
    for person in Person.select().order_by(Person.email):
        extras = [f"tz={person.timezone}", f"workdays={person.workdays}"]
        if person.github:
            extras.append(f"github={person.github}")
        if person.slack:
            extras.append(f"slack={person.slack}")
        if person.holiday_country:
            extras.append(f"holidays={person.holiday_country}")
        aliases = [a.email for a in person.aliases]
        if aliases:
            extras.append("aliases=" + ",".join(sorted(aliases)))
        for lv in person.leaves.order_by(Leave.start):
            by_mail = " (set by mail)" if lv.source == "mail" else ""
            extras.append(f"leave={lv.start}..{lv.end}{by_mail}")
        lines.append(f"person {person.email} ({person.name})  " + "  ".join(extras))
    return "\n".join(lines) if lines else "(the directory is empty; load one with "\
        "`mailsup directory load FILE.toml`)"
