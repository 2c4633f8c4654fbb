"""What every command shares: settings, times and dates from flags, JSON, logging.

Every user mistake ends as one line on stderr and a non-zero exit (``main``);
these helpers raise ``UserError`` with a line that says what to do.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
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
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
    database.bind(settings.database)
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


def resolve_developer(address: str | None) -> str | None:
    """A developer's primary email from any of their addresses."""
    if not address:
        return None
    person = directory.person_by_address(address)
    if person is None:
        raise UserError(f"unknown developer {address!r}; see `mailsup directory show`")
    return person.email


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"time": self.formatTime(record), "level": record.levelname,
                "logger": record.name, "message": record.getMessage(),
                "thread": record.threadName}
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data)


def configure_logging(verbose: bool, as_json: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
