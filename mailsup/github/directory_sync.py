"""mailsup's use of GitHub: footprints per client, directory sync, HR tickets.

The collector and ticket code (``footprint``, ``hr_tickets``) know nothing of
the database; this module connects them to settings, the directory and the
ETag cache table, and turns every GitHub failure into a note, never a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlparse

from github import Github

from mailsup.config import Settings
from mailsup.directory import repos_of
from mailsup.github.api import GitHubRequestError, GitHubUnavailable, make_github
from mailsup.github.collector import FootprintUnavailable, collect, fetch_org_directory
from mailsup.models import Client, GithubCache, Membership, Org, Person, Repo, Team, db

log = logging.getLogger("mailsup.github")

Window = tuple[datetime, datetime]


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


def client(settings: Settings) -> Github:
    # A loopback base_url is a local stand-in (tests, a proxy): no politeness throttle.
    host = urlparse(settings.github.base_url).hostname or ""
    local = host in ("127.0.0.1", "localhost", "::1")
    return make_github(settings.github.token, settings.github.base_url, for_tests=local)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def collect_for_client(settings: Settings, client_row: Client,
                       windows: dict[Person, Window]) -> tuple[dict[str, dict], str | None]:
    """One collection for all developers of a client, sliced to each one's window."""
    repos = repos_of(client_row)
    if not repos:
        return {}, (f"no repositories are listed for {client_row.name}; add [[repos]] to the "
                    "directory or run `mailsup directory sync-github`")
    with_login = {p: w for p, w in windows.items() if p.github}
    if not with_login:
        return {}, "no GitHub login is known for you; ask the operator to add `github = ...`"
    since = min(_aware(w[0]) for w in with_login.values())
    until = max(_aware(w[1]) for w in with_login.values())
    try:
        fp = collect(client(settings), repos, [p.github for p in with_login], since, until,
                     DbEtagCache())
    except FootprintUnavailable as exc:
        return {}, f"footprint unavailable ({exc}); it will be included in your next SUP"
    except Exception as exc:  # noqa: BLE001 - GitHub must never stop the SUP email
        log.exception("footprint collection failed for %s", client_row.slug)
        return {}, f"footprint unavailable ({type(exc).__name__}); it will be included later"
    per_person = {p.email: fp.for_developer(p.github, _aware(w[0]), _aware(w[1]))
                  for p, w in with_login.items()}
    return per_person, ("; ".join(fp.notes) or None)


def sync_directory(settings: Settings, progress: Callable[[str], None] = lambda _m: None
                   ) -> dict:
    """Pull teams, members and repos of every client org; report unknown logins."""
    if not settings.github.token:
        from mailsup.errors import UserError

        raise UserError("[github] token is empty; set it (or MAILSUP_GITHUB_TOKEN) to sync")
    gh, lines, unknown = client(settings), [], set()
    people = {p.github.lower(): p for p in Person.select() if p.github}
    orgs = list(Org.select().order_by(Org.login))
    for index, org in enumerate(orgs, start=1):
        progress(f"[{index}/{len(orgs)}] {org.login}")
        try:
            data = fetch_org_directory(gh, org.login)
        except (GitHubUnavailable, GitHubRequestError) as exc:
            lines.append(f"org {org.login}: not synced: {exc}")
            continue
        lines.extend(_apply_org(org, data, people, unknown))
    if unknown:
        lines.append("GitHub members not in the directory (add them to [[people]] with an "
                     "email and time zone): " + ", ".join(sorted(unknown)))
    return {"lines": lines or ["directory already in sync"], "unknown_logins": sorted(unknown)}


def _apply_org(org: Org, data: dict, people: dict[str, Person], unknown: set[str]) -> list[str]:
    lines = []
    with db.atomic():
        for name in data["repos"]:
            _, created = Repo.get_or_create(org=org, name=name)
            if created:
                lines.append(f"+ repo {org.login}/{name}")
        for team_data in data["teams"]:
            team, created = Team.get_or_create(org=org, slug=team_data["slug"],
                                               defaults={"name": team_data["name"]})
            if created:
                lines.append(f"+ team {org.login}/{team.slug}")
            for login in team_data["members"]:
                person = people.get(login.lower())
                if person is None:
                    unknown.add(login)
                    continue
                _, added = Membership.get_or_create(team=team, person=person)
                if added:
                    lines.append(f"+ {person.email} in {org.login}/{team.slug}")
    return lines
