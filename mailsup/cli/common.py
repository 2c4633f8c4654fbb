"""What every command shares: settings, times and dates from flags, JSON, logging.

Every user mistake ends as one line on stderr and a non-zero exit (``main``);
these helpers raise ``UserError`` with a line that says what to do.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime

from mailsup import config as config_mod
from mailsup import database, directory
from mailsup.clock import utc_now
from mailsup.config import Settings
from mailsup.errors import UserError

EXIT_USAGE = 2
EXIT_ERROR = 1


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
    database.bind(settings.database, settings.lock_wait_seconds)
    if need_schema:
        database.require_schema()
    return settings


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
