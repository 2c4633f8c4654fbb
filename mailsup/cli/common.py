"""What every command shares: settings, times and dates from flags, JSON, logging.

Every user mistake ends as one line on stderr and a non-zero exit (``main``);
these helpers raise ``UserError`` with a line that says what to do.
"""

from __future__ import annotations

import difflib
import json
import logging
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

from mailsup import config as config_mod
from mailsup import database, directory
from mailsup.clock import utc_now
from mailsup.config import Settings
from mailsup.errors import UserError

EXIT_USAGE = 2
EXIT_ERROR = 1
# sysexits' EX_TEMPFAIL: mail could not be handed to the relay and waits in the
# outbox (retried with backoff). `tick` and `run --once` exit so, for cron to alert.
EXIT_TEMPFAIL = 75


def parse_now(value: str | None) -> datetime:
    if not value:
        return utc_now()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--now {value!r} is not ISO 8601, e.g. 2026-11-25T06:00:00+01:00") \
            from None
    if parsed.tzinfo is None:
        # Say so: a naive 06:00 meant as Berlin time would otherwise run an hour off.
        parsed = parsed.replace(tzinfo=UTC)
        print(f"mailsup: note: --now {value} has no UTC offset; taken as UTC "
              f"({parsed.isoformat()}); add +01:00 or Z to say which", file=sys.stderr)
    return parsed


FAR_FROM_THE_CLOCK = timedelta(days=2)


def note_when_far_from_the_clock(settings: Settings, now: datetime) -> None:
    """Say so when ``--now`` is days away and mail really goes out: trying a tick "as of"
    another day makes that day's records and sends that day's mail."""
    apart = now - utc_now()
    if abs(apart) < FAR_FROM_THE_CLOCK or not settings.smtp.host:
        return
    days = abs(apart).days
    side = "after" if apart > timedelta(0) else "before"
    print(f"mailsup: note: --now is {days:,} days {side} this machine's clock; the SUPs and "
          f"records this makes are real, and its mail goes to {settings.smtp.host} (to try "
          "a day without sending, use `mailsup preview` or a config without [smtp] host)",
          file=sys.stderr)


def parse_day(value: str | None, flag: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{flag} {value!r} is not a date (YYYY-MM-DD)") from None


def open_settings(args, *, need_schema: bool = True) -> Settings:
    settings = config_mod.load(args.config)
    if need_schema:
        # Opening a SQLite file that is not there would create an empty one.
        missing = missing_sqlite_file(settings.database)
        if missing is not None:
            raise UserError(f"no database at {missing}; run `mailsup init` first (it "
                            "creates it)")
    database.bind(settings.database, settings.lock_wait_seconds)
    if need_schema:
        try:
            database.require_schema()
        except UserError as exc:
            if database.current_version() == 0:
                # Typically a new (or newly switched-to) database: say which one.
                raise UserError(f"{shown_url(settings.database)} has no mailsup tables (a "
                                "new database?); run `mailsup init` to create them") from None
            raise exc from None
    return settings


def missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file a ``database`` URL names, if it does not exist (else None)."""
    if not url.startswith("sqlite:///"):
        return None
    rest = url[len("sqlite:///"):]
    if not rest or rest == ":memory:" or Path(rest).exists():
        return None
    return Path(rest)


def shown_url(url: str) -> str:
    """A database URL fit to print: no password, no query options."""
    parsed = urlparse(url)
    if parsed.scheme.startswith("postgres"):
        user = f"{parsed.username}@" if parsed.username else ""
        port = f":{parsed.port}" if parsed.port else ""
        return f"{parsed.scheme}://{user}{parsed.hostname or ''}{port}{parsed.path}"
    return url


def print_json(data) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def print_record(data: dict, raw: bytes, args, shown=lambda _key, value: value) -> None:
    """``show ID [--raw] [--json]`` for a stored mail: one ``key: value`` a line, or JSON.

    The stored bytes are printed as they are (decoded leniently: they may be anything
    a sender wrote); ``shown(key, value)`` turns a list or ``None`` into a line.
    """
    text = raw.decode("utf-8", "replace")
    if args.json:
        print_json(data | {"raw": text})
        return
    for key, value in data.items():
        print(f"{key}: {shown(key, value)}")
    if args.raw:
        print()
        sys.stdout.write(text)


def resolve_developer(address: str | None) -> str | None:
    """A developer's primary email from any of their addresses."""
    if not address:
        return None
    person = directory.person_by_address(address)
    if person is None:
        raise UserError(f"unknown developer {address!r}{person_hint(address)}; see "
                        "`mailsup directory show`")
    return person.email


def person_hint(text: str) -> str:
    """``; did you mean …`` for a person typed as a name, a local part or with a typo."""
    from mailsup.models import Alias, Person

    wanted = text.strip().lower()
    people = list(Person.select())
    by_key: dict[str, set] = {}
    for person in people:
        keys = {person.email, person.email.partition("@")[0], person.name.lower(),
                *person.name.lower().split()}
        for key in keys:
            by_key.setdefault(key, set()).add(person)
    for alias in Alias.select():
        by_key.setdefault(alias.email, set()).add(alias.person)
    found = set(by_key.get(wanted, set()))
    if not found:
        for key in difflib.get_close_matches(wanted, list(by_key), n=3, cutoff=0.75):
            found |= by_key[key]
    if not found:
        found = {p for key, ps in by_key.items() if key.startswith(wanted) and len(wanted) >= 3
                 for p in ps}
    if not found:
        return ""
    shown = sorted(found, key=lambda p: p.email)[:3]
    return "; did you mean " + " or ".join(f"{p.email} ({p.name})" for p in shown) + "?"


def client_hint(text: str) -> str:
    """``; did you mean …`` for a client typed by its name, in another case, or with a typo."""
    from mailsup.models import Client

    wanted = text.strip().lower()
    clients = list(Client.select().order_by(Client.slug))
    exact = [c for c in clients if wanted in (c.slug.lower(), (c.name or "").lower())]
    near = exact or [c for c in clients if c.slug in difflib.get_close_matches(
        wanted, [c.slug for c in clients], n=3, cutoff=0.6)] or \
        [c for c in clients if (c.name or "").lower() in difflib.get_close_matches(
            wanted, [(c.name or "").lower() for c in clients], n=3, cutoff=0.6)]
    if not near:
        return ""
    return "; did you mean " + " or ".join(f"{c.slug} ({c.name})" for c in near[:3]) + "?"


def resolve_client(slug: str):
    """The client with this slug, or a UserError that suggests the one meant."""
    from mailsup.models import Client

    client = Client.get_or_none(Client.slug == slug)
    if client is None:
        raise UserError(f"unknown client {slug!r}{client_hint(slug)}; see "
                        "`mailsup directory show`")
    return client


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"time": self.formatTime(record), "level": record.levelname,
                "logger": record.name, "message": record.getMessage(),
                "thread": record.threadName}
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data)


def configure_logging(verbose: bool, as_json: bool, service: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose or service else logging.WARNING)
    # aiosmtpd logs every connection (our own listener probe too) at INFO on
    # "mail.log": the service's log shows it only with -v.
    logging.getLogger("mail.log").setLevel(logging.INFO if verbose else logging.WARNING)


class Progress:
    """One line on a terminal's stderr, overwritten as a long operation goes on.

    Silent unless stderr is a terminal and the output is not ``--json``: a cron
    mail or a script's log never fills with progress lines.
    """

    def __init__(self, enabled: bool, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.shown = False

    @classmethod
    def for_args(cls, args) -> Progress:
        stream = sys.stderr
        return cls(stream.isatty() and not getattr(args, "json", False), stream)

    def __call__(self, text: str) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
            self.shown = True

    def done(self) -> None:
        if self.enabled and self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False
