"""``mailsup directory sync-github``: org teams, members and repos into the directory.

Unknown GitHub logins are reported, never invented as people: a person needs
an email and a time zone, which only the operator can give.
"""

from __future__ import annotations

from collections.abc import Callable

from mailsup.config import Settings
from mailsup.errors import UserError
from mailsup.github import api
from mailsup.github.api import GitHubRequestError, GitHubUnavailable
from mailsup.github.collector import fetch_org_directory
from mailsup.models import Membership, Org, Person, Repo, Team, db


def sync_directory(settings: Settings, progress: Callable[[str], None] = lambda _m: None
                   ) -> dict:
    """Pull teams, members and repos of every client org; report unknown logins."""
    gh = api.client_for(settings)
    if gh is None:
        raise UserError("[github] token is empty; set it (or MAILSUP_GITHUB_TOKEN) to sync")
    lines, unknown, not_synced = [], set(), []
    people = {p.github.lower(): p for p in Person.select() if p.github}
    orgs = list(Org.select().order_by(Org.login))
    for index, org in enumerate(orgs, start=1):
        progress(f"[{index}/{len(orgs)}] {org.login}")
        try:
            data = fetch_org_directory(gh, org.login)
        except (GitHubUnavailable, GitHubRequestError) as exc:
            lines.append(f"org {org.login}: not synced: {exc}")
            not_synced.append(org.login)
            continue
        lines.extend(_apply_org(org, data, people, unknown))
    if unknown:
        lines.append("GitHub members not in the directory (add them to [[people]] with an "
                     "email and time zone): " + ", ".join(sorted(unknown)))
    return {"lines": lines or ["directory already in sync"], "unknown_logins": sorted(unknown),
            "not_synced": not_synced}


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
