"""Footprints for the SUPs of one tick: one GitHub collection per client.

The collector (``mailsup.footprint``) fetches per repo for every developer at
once; here each developer's slice is cut to their own window. GitHub being
down or out of quota never stops a SUP: the mail goes out with a note.
"""

from __future__ import annotations

import logging
from datetime import datetime

from .config import Settings
from .models import Client, Person

log = logging.getLogger("mailsup.github")

NOT_CONFIGURED = "not configured ([github] token is empty), so no activity is shown."


def in_window(footprint: dict, start: datetime, end: datetime) -> dict:
    """Keep the events whose instant is in [start, end): exactly-once slicing."""
    lo, hi = start.isoformat(), end.isoformat()
    repos = {}
    for name, repo in (footprint.get("repos") or {}).items():
        kept = {key: [i for i in items if lo <= _naive_iso(i.get("at")) < hi]
                for key, items in repo.items() if isinstance(items, list)}
        if any(kept.values()):
            repos[name] = kept
    return {"repos": repos, "assigned": footprint.get("assigned", []),
            "notes": footprint.get("notes", [])}


def _naive_iso(value: str | None) -> str:
    # Events carry ISO UTC ("...Z" or "+00:00"); compare as naive UTC strings.
    if not value:
        return ""
    return value.replace("Z", "").split("+")[0]


def gather(settings: Settings, client: Client, people: list[Person], since: datetime,
           until: datetime) -> tuple[dict[str, dict], str | None]:
    """Footprint per developer email over [since, until), and a note for the mail."""
    if not settings.github.token:
        return {}, NOT_CONFIGURED
    from . import github_source

    return github_source.collect_for_client(settings, client, people, since, until)
