"""The filters of every SUP list (and its .csv and .json): one parser, one meaning.

A malformed value is a 400 page that names it, never a traceback or an empty
list that looks like "no SUPs".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from flask import abort
from werkzeug.datastructures import MultiDict

from mailsup.models import SUP_STATUSES

# "waiting": HR's queue (submitted, or amended after review); "all": no filter.
STATUSES = ("waiting", "all", *dict.fromkeys((*SUP_STATUSES, "missed")))
EXPORTS = ("csv", "json")


@dataclass(frozen=True)
class ListFilters:
    client: str | None = None
    developer: str | None = None
    since: date | None = None
    until: date | None = None
    status: str = "all"
    flagged: bool = False

    @classmethod
    def from_args(cls, args: MultiDict, default_status: str = "all") -> ListFilters:
        status = (args.get("status") or default_status).strip().lower()
        if status not in STATUSES:
            abort(400, description=f"status {status!r} is not one of {', '.join(STATUSES)}.")
        return cls(
            client=(args.get("client") or "").strip() or None,
            developer=(args.get("developer") or "").strip().lower() or None,
            since=parse_day(args.get("since"), "since"),
            until=parse_day(args.get("until"), "until"),
            status=status,
            flagged=(args.get("flagged") or "").strip().lower() in ("1", "on", "yes", "true"),
        )

    @property
    def sql_status(self) -> str | None:
        return None if self.status in ("all", "waiting") else self.status

    def query(self, **changes) -> str:
        """The query string of these filters (for the .csv/.json links and forms)."""
        values = {"client": self.client, "developer": self.developer,
                  "since": self.since.isoformat() if self.since else None,
                  "until": self.until.isoformat() if self.until else None,
                  "status": self.status, "flagged": "1" if self.flagged else None} | changes
        return urlencode({k: v for k, v in values.items() if v})


def parse_day(value: str | None, name: str) -> date | None:
    if not value or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        abort(400, description=f"{name} {value.strip()[:40]!r} is not a date; "
                               "write it as YYYY-MM-DD, e.g. 2026-11-25.")


def split_format(name: str) -> tuple[str, str | None]:
    """``alice@example.com.csv`` → (``alice@example.com``, ``csv``)."""
    stem, dot, suffix = name.rpartition(".")
    if dot and suffix in EXPORTS:
        return stem, suffix
    return name, None
