"""Footprints for the SUPs of one tick: one GitHub collection per client.

The collector fetches per repo for every developer at once; each developer's
slice is then cut to their own window, so every event lands in exactly one
snapshot. GitHub being down or out of quota never stops a SUP: the mail goes
out with a note. The path: ``gather`` here → ``collector.collect`` → ``api``.
"""

from __future__ import annotations

import logging
from datetime import datetime

from mailsup.clock import aware
from mailsup.config import Settings
from mailsup.directory import repos_of
from mailsup.github import api
from mailsup.github.collector import FootprintUnavailable, collect
from mailsup.models import Client, GithubCache, Person, db

log = logging.getLogger(__name__)

Window = tuple[datetime, datetime]

# The notes are for operators (`mailsup sup show`); ``notice`` says the same to a developer.
NOT_CONFIGURED = "not configured ([github] token is empty), so no activity is shown."
NO_REPOS = "no repositories are listed for "
NO_LOGIN = "no GitHub login is known for you"
UNAVAILABLE = "footprint unavailable ("


def notice(note: str | None) -> str | None:
    """A footprint note in a developer's words: no config keys, commands or HTTP codes."""
    if not note:
        return None
    if note.startswith(NO_LOGIN):
        return ("mailsup does not know your GitHub account yet, so none of your activity "
                "is listed; ask whoever runs mailsup for your team to add it.")
    if note.startswith(UNAVAILABLE):
        return "GitHub activity isn't available today; it will be in your next SUP."
    # Not an outage, so not "today": it stays so until mailsup is set up to read GitHub.
    if note == NOT_CONFIGURED:
        return "mailsup does not read GitHub for your team, so no activity is listed below."
    if note.startswith(NO_REPOS):
        return ("mailsup reads no GitHub repositories for this client yet, so no activity is "
                "listed below.")
    # The collector's "<repo>: <reason> (<status>)", joined with "; ".
    repos = [part.split(": ", 1)[0] for part in note.split("; ") if "/" in part.split(": ")[0]]
    if repos:
        return (f"Some GitHub activity could not be read today ({', '.join(repos)}), so it "
                "may be missing below.")
    return "Some GitHub activity could not be read today, so it may be missing below."


def gather(settings: Settings, client: Client, windows: dict[Person, Window]
           ) -> tuple[dict[str, dict], str | None]:
    """Footprint per developer email over each one's [start, end), and a note for the mail."""
    gh = api.client_for(settings)
    if gh is None:
        return {}, NOT_CONFIGURED
    return collect_for_client(gh, client, windows)


class DbEtagCache:
    """ETags kept between ticks, so an unchanged repo costs no rate limit."""

    def get(self, url: str) -> tuple[str, str] | None:
        row = GithubCache.get_or_none(GithubCache.url == url[:1000])
        return (row.etag, row.body) if row else None

    def put(self, url: str, etag: str, body: str) -> None:
        with db.atomic():
            updated = (GithubCache.update(etag=etag, body=body)
                       .where(GithubCache.url == url[:1000]).execute())
            if not updated:
                GithubCache.insert(url=url[:1000], etag=etag, body=body).on_conflict_ignore() \
                    .execute()


def collect_for_client(gh, client_row: Client,
                       windows: dict[Person, Window]) -> tuple[dict[str, dict], str | None]:
    """One collection for all developers of a client, sliced to each one's window."""
    repos = repos_of(client_row)
    if not repos:
        return {}, (f"{NO_REPOS}{client_row.name}; add [[repos]] to the "
                    "directory or run `mailsup directory sync-github`")
    with_login = {p: w for p, w in windows.items() if p.github}
    if not with_login:
        return {}, f"{NO_LOGIN}; ask the operator to add `github = ...`"
    since = min(aware(w[0]) for w in with_login.values())
    until = max(aware(w[1]) for w in with_login.values())
    try:
        fp = collect(gh, repos, [p.github for p in with_login], since, until,
                     DbEtagCache())
    except FootprintUnavailable as exc:
        return {}, f"{UNAVAILABLE}{exc}); it will be included in your next SUP"
    except Exception as exc:  # noqa: BLE001 - GitHub must never stop the SUP email
        log.exception("footprint collection failed for %s", client_row.slug)
        return {}, f"{UNAVAILABLE}{type(exc).__name__}); it will be included later"
    per_person = {p.email: fp.for_developer(p.github, aware(w[0]), aware(w[1]))
                  for p, w in with_login.items()}
    return per_person, ("; ".join(fp.notes) or None)
