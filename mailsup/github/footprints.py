"""Footprints for the SUPs of one tick: one GitHub collection per client.

The collector fetches per repo for every developer at once; each developer's
slice is then cut to their own window, so every event lands in exactly one
snapshot. GitHub being down or out of quota never stops a SUP: the mail goes
out with a note.
"""

from __future__ import annotations

from datetime import datetime

from mailsup.config import Settings
from mailsup.models import Client, Person

NOT_CONFIGURED = "not configured ([github] token is empty), so no activity is shown."


def gather(settings: Settings, client: Client, windows: dict[Person, tuple[datetime, datetime]]
           ) -> tuple[dict[str, dict], str | None]:
    """Footprint per developer email over each one's [start, end), and a note for the mail."""
    if not settings.github.token:
        return {}, NOT_CONFIGURED
    from mailsup.github import directory_sync as github_source

    return github_source.collect_for_client(settings, client, windows)
