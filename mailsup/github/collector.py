"""A client's GitHub footprint, collected once per repo and sliced per developer.

Why per repo and not per developer: GitHub allows 5,000 requests an hour per
token; asking `commits?author=` for each developer of each repo costs
developers x repos. Here the cost is a handful of requests per repo (plus one
per pull request shown), most of them 304s on an unchanged repo.

Every event is attributed to the half-open window [since, until) by its own
timestamp, so consecutive windows sharing a boundary never show an event twice
or lose one. Query bounds are widened to the hour for cache reuse; the exact
window is applied locally.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:  # PyGithub loads with the client (github/api.py says why)
    from github import Github

from mailsup.clock import ceil_hour, floor_hour, iso_z
from mailsup.clock import parse_iso as parse_time
from mailsup.github.api import (
    EtagCache,
    Fetcher,
    GitHubRequestError,
    GitHubUnavailable,
    MemoryEtagCache,
)

__all__ = ["ClientFootprint", "EtagCache", "FootprintUnavailable", "MemoryEtagCache",
           "collect", "fetch_org_directory"]

log = logging.getLogger(__name__)

KINDS = ("issues_opened", "issues_closed", "issues_commented", "prs_opened", "prs_merged",
         "commits")
SUMMARY_MAX = 200


class FootprintUnavailable(GitHubUnavailable):
    """GitHub is down or the rate limit is too low; the SUP goes out without a footprint."""


@dataclass(frozen=True)
class Activity:
    """One thing a developer did in one repo, already shaped for the SUP."""

    login: str          # lower case: GitHub logins are case-insensitive
    repo: str
    kind: str           # one of KINDS
    at: datetime
    item: dict[str, Any]


@dataclass
class ClientFootprint:
    """Everything collected for one client and window; slice it with `for_developer`."""

    since: datetime
    until: datetime
    activities: list[Activity] = field(default_factory=list)
    assigned: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    requests: int = 0
    not_modified: int = 0

    def for_developer(self, login: str, since: datetime | None = None,
                      until: datetime | None = None) -> dict[str, Any]:
        """The developer's JSON-ready footprint; `since`/`until` may narrow the window.

        Narrowing lets one collection over the earliest window start serve developers
        whose own windows start later.
        """
        lo, hi, who = since or self.since, until or self.until, login.lower()
        repos: dict[str, dict[str, list[dict[str, Any]]]] = {}
        mine = sorted((a for a in self.activities if a.login == who and lo <= a.at < hi),
                      key=lambda a: (a.at, a.repo, a.kind))
        for a in mine:
            lists = repos.setdefault(a.repo, {k: [] for k in KINDS})
            if a.kind == "issues_commented":
                _merge_comment(lists["issues_commented"], a.item)
            else:
                lists[a.kind].append(dict(a.item))
        return {"repos": repos, "assigned": list(self.assigned.get(who, [])),
                "notes": list(self.notes)}


def _merge_comment(items: list[dict[str, Any]], item: dict[str, Any]) -> None:
    """Several comments on one issue are one line in the SUP, listing each comment."""
    for existing in items:
        if existing["number"] == item["number"]:
            existing["comments"].extend(item["comments"])
            existing["at"] = item["at"]
            return
    items.append({**item, "comments": list(item["comments"])})


def collect(gh: Github, repos: list[str], logins: list[str], since: datetime,
            until: datetime, cache: EtagCache, *, emails: Mapping[str, str] | None = None,
            min_remaining: int = 50, max_wait: float = 5.0) -> ClientFootprint:
    """Collect the footprint of all `logins` in `repos` for [since, until) in one pass.

    `emails` maps commit author emails to logins for commits GitHub could not link
    to an account. Raises FootprintUnavailable on an outage or a low rate limit; a
    repo that is missing or forbidden becomes a note.
    """
    fetch = Fetcher(gh, cache, min_remaining=min_remaining, max_wait=max_wait)
    fp = ClientFootprint(since, until)
    ctx = _Context(fetch, {x.lower() for x in logins}, since, until,
                   {k.lower(): v.lower() for k, v in (emails or {}).items()})
    try:
        for repo in repos:
            _collect_repo_safely(ctx, repo, fp)
    except GitHubUnavailable as exc:
        log.warning("footprint unavailable after %d requests: %s", fetch.requests, exc)
        raise FootprintUnavailable(str(exc)) from exc
    fp.requests, fp.not_modified = fetch.requests, fetch.not_modified
    log.info("footprint of %d repos for %d developers: %d requests, %d not modified",
             len(repos), len(logins), fetch.requests, fetch.not_modified)
    return fp


@dataclass
class _Context:
    fetch: Fetcher
    logins: set[str]
    since: datetime
    until: datetime
    emails: dict[str, str]

    def inside(self, at: datetime | None) -> bool:
        return at is not None and self.since <= at < self.until

    def url(self, repo: str, path: str, **params: str) -> str:
        return f"/repos/{repo}/{path}?" + urlencode({**params, "per_page": "100"})


def _collect_repo_safely(ctx: _Context, repo: str, fp: ClientFootprint) -> None:
    """A repo's results count only when the whole repo was read: no half footprints."""
    try:
        activities, assigned = _collect_repo(ctx, repo)
    except GitHubRequestError as exc:
        reason = "repository not found" if exc.status == 404 else str(exc)
        fp.notes.append(f"{repo}: {reason} ({exc.status})")
        log.warning("footprint: %s: %s", repo, exc)
        return
    fp.activities.extend(activities)
    for login, items in assigned.items():
        fp.assigned.setdefault(login, []).extend(items)


def _collect_repo(ctx: _Context,
                  repo: str) -> tuple[list[Activity], dict[str, list[dict[str, Any]]]]:
    q_since = iso_z(floor_hour(ctx.since))
    issues = ctx.fetch.items(ctx.url(repo, "issues", state="all", since=q_since))
    by_number = {i["number"]: i for i in issues}
    out = _issues_opened(ctx, repo, issues)
    out += _issues_commented(ctx, repo, by_number, q_since)
    out += _issues_closed(ctx, repo)
    prs, pr_shas = _pull_requests(ctx, repo)
    out += prs
    out += _commits(ctx, repo, pr_shas, q_since)
    return out, _assigned(ctx, repo)


def _login(user: Mapping[str, Any] | None) -> str | None:
    return user["login"].lower() if user and user.get("login") else None


def _ref(item: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    return {"number": item["number"], "title": item["title"], "url": item["html_url"],
            "at": iso_z(at)}


def _issues_opened(ctx: _Context, repo: str, issues: list[dict[str, Any]]) -> list[Activity]:
    out = []
    for i in issues:
        who, at = _login(i["user"]), parse_time(i["created_at"])
        if "pull_request" not in i and who in ctx.logins and ctx.inside(at):
            out.append(Activity(who, repo, "issues_opened", at, _ref(i, at)))
    return out


def _issues_commented(ctx: _Context, repo: str, issues: Mapping[int, dict[str, Any]],
                      q_since: str) -> list[Activity]:
    out = []
    for c in ctx.fetch.items(ctx.url(repo, "issues/comments", since=q_since)):
        who, at = _login(c["user"]), parse_time(c["created_at"])
        if who not in ctx.logins or not ctx.inside(at):
            continue
        number = int(c["issue_url"].rstrip("/").rsplit("/", 1)[1])
        # Every commented issue was updated in the window, so the issue list has it.
        issue = issues.get(number, {"number": number, "title": f"#{number}",
                                    "html_url": c["html_url"].split("#")[0]})
        item = {**_ref(issue, at), "pr": "pull_request" in issue,
                "comments": [{"id": c["id"], "url": c["html_url"], "at": iso_z(at)}]}
        out.append(Activity(who, repo, "issues_commented", at, item))
    return out


def _issues_closed(ctx: _Context, repo: str) -> list[Activity]:
    """Who closed an issue is only in the events feed (newest first, no `since`)."""
    out = []
    events = ctx.fetch.items(ctx.url(repo, "issues/events"),
                             stop=lambda e: parse_time(e["created_at"]) < ctx.since)
    for e in events:
        who, at, issue = _login(e["actor"]), parse_time(e["created_at"]), e.get("issue") or {}
        if e["event"] == "closed" and issue and "pull_request" not in issue \
                and who in ctx.logins and ctx.inside(at):
            out.append(Activity(who, repo, "issues_closed", at, _ref(issue, at)))
    return out


def _pull_requests(ctx: _Context, repo: str) -> tuple[list[Activity], set[str]]:
    """PRs the developers opened or got merged in the window, with their commits' gist."""
    url = ctx.url(repo, "pulls", state="all", sort="updated", direction="desc")
    pulls = ctx.fetch.items(url, stop=lambda p: parse_time(p["updated_at"]) < ctx.since)
    # Merge commits are the PR's whoever merged it, even for PRs nobody listed here opened.
    shas = {p["merge_commit_sha"] for p in pulls if p.get("merge_commit_sha")}
    out = []
    for p in pulls:
        who, opened, merged = _login(p["user"]), parse_time(p["created_at"]), \
            parse_time(p.get("merged_at"))
        if who not in ctx.logins or not (ctx.inside(opened) or ctx.inside(merged)):
            continue
        commits = ctx.fetch.items(ctx.url(repo, f"pulls/{p['number']}/commits"))
        shas.update(c["sha"] for c in commits)
        for kind, at in (("prs_opened", opened), ("prs_merged", merged)):
            if ctx.inside(at):
                item = {**_ref(p, at), "commits": summarise(commits),
                        "commit_count": len(commits)}
                out.append(Activity(who, repo, kind, at, item))
    return out, shas


def summarise(commits: list[Mapping[str, Any]], limit: int = SUMMARY_MAX) -> str:
    """First lines of the commit messages, deduplicated, on one line for the email."""
    lines = list(dict.fromkeys(c["commit"]["message"].splitlines()[0].strip()
                               for c in commits if c["commit"]["message"].strip()))
    text = "; ".join(lines)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _commits(ctx: _Context, repo: str, pr_shas: set[str], q_since: str) -> list[Activity]:
    """Default-branch commits in the window that no listed PR already accounts for."""
    q_until = iso_z(ceil_hour(ctx.until))
    out = []
    for c in ctx.fetch.items(ctx.url(repo, "commits", since=q_since, until=q_until)):
        if c["sha"] in pr_shas:
            continue
        meta = c["commit"]
        who = _login(c.get("author")) or ctx.emails.get((meta["author"].get("email") or "").lower())
        # GitHub's since/until filter on the commit (committer) date, so we do too.
        at = parse_time((meta.get("committer") or meta["author"])["date"])
        if who in ctx.logins and ctx.inside(at):
            item = {"sha": c["sha"], "message": meta["message"].splitlines()[0] if
                    meta["message"] else "", "url": c["html_url"], "at": iso_z(at)}
            out.append(Activity(who, repo, "commits", at, item))
    return out


def _assigned(ctx: _Context, repo: str) -> dict[str, list[dict[str, Any]]]:
    """Open issues assigned to anyone, fetched once and split per developer locally."""
    out: dict[str, list[dict[str, Any]]] = {}
    for i in ctx.fetch.items(ctx.url(repo, "issues", state="open", assignee="*")):
        if "pull_request" in i:
            continue
        for who in {_login(a) for a in i.get("assignees") or [i.get("assignee")]}:
            if who in ctx.logins:
                out.setdefault(who, []).append({"repo": repo, "number": i["number"],
                                                "title": i["title"], "url": i["html_url"]})
    return out


def fetch_org_directory(gh: Github, org: str, cache: EtagCache | None = None) -> dict[str, Any]:
    """Repos and teams (with members) of an org, for `mailsup directory sync-github`.

    Archived repos are left out: nobody works in them, and each repo costs requests
    every cycle. Raises GitHubUnavailable on an outage or exhausted rate limit and
    GitHubRequestError (status 404) for an unknown org.
    """
    fetch = Fetcher(gh, cache if cache is not None else MemoryEtagCache(), min_remaining=1)
    query = "?" + urlencode({"per_page": "100"})
    repos = [r["name"] for r in fetch.items(f"/orgs/{org}/repos{query}&type=all")
             if not r.get("archived")]
    teams = []
    for t in fetch.items(f"/orgs/{org}/teams{query}"):
        members = fetch.items(f"/orgs/{org}/teams/{t['slug']}/members{query}")
        teams.append({"slug": t["slug"], "name": t["name"],
                      "members": sorted(m["login"] for m in members)})
    return {"org": org, "repos": sorted(repos), "teams": teams}
