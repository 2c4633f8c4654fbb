"""GitHub requests per footprint cycle: mailsup's per-repo collector against a naive one.

Usage: ``python benchmarks/footprint_bench.py [--quick]`` prints the JSON of :func:`run`.

Both collectors talk to the same in-process GitHub double through the real
PyGithub client, over 50 repos with the same fixed amount of activity, spread
over however many developers there are. The per-repo collector is measured for
10, 100 and 1,000 developers and again for an unchanged second cycle (all 304s,
which GitHub does not count). The naive baseline asks per developer per repo
(``issues?creator=``, ``commits?author=``, ``issues?assignee=`` ...); in quick
mode it is measured for every 10th of the 100 developers and scaled by 10 (its
cost is per developer, so that is a fair estimate), otherwise for all 100. The
naive results are checked against the per-repo ones so both produce the same data.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mailsup.clock import iso_z  # noqa: E402
from mailsup.github.api import MemoryEtagCache, make_github  # noqa: E402
from mailsup.github.collector import Activity, ClientFootprint, collect, summarise  # noqa: E402
from mailsup.testing.github_api import GitHubDouble  # noqa: E402

REPOS = [f"acme/repo{n:02d}" for n in range(50)]
SINCE = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=1)


def at(hours: float) -> datetime:
    return SINCE + timedelta(hours=hours)


def populate(d: GitHubDouble, logins: list[str]) -> None:
    """Per repo: 8 issues (3 closed), 12 comments, 3 PRs (2 merged), 6 direct commits."""
    n = len(logins)
    for r, repo in enumerate(REPOS):
        who = [logins[(r * 37 + k * 11) % n] for k in range(40)]
        for i in range(1, 9):
            d.add_issue(repo, i, f"Issue {i}", who[i], at(i), assignees=[who[i + 8]])
            if i <= 3:
                d.close_issue(repo, i, at(i + 10), who[i + 16])
        for c in range(12):
            d.add_comment(repo, c % 8 + 1, who[c + 20], at(c + 1.5))
        for p in range(9, 12):
            d.add_issue(repo, p, f"PR {p}", who[p], at(p - 6), is_pr=True,
                        merged_at=at(p + 5) if p < 11 else None,
                        commits=[f"Step {k} of PR {p}" for k in range(3)])
        for c in range(6):
            d.add_commit(repo, f"{repo}-{c}", who[c + 30], f"Direct change {c}", at(c + 2))
        d.add_issue(repo, 99, "Last week's", who[0], at(-100))


def efficient(d: GitHubDouble, logins: list[str]) -> tuple[int, int, ClientFootprint]:
    gh, cache = make_github("t", d.base_url, for_tests=True), MemoryEtagCache()
    before = len(d.requests)
    fp = collect(gh, REPOS, logins, SINCE, UNTIL, cache)
    first = d.counted(before)
    before = len(d.requests)
    collect(gh, REPOS, logins, SINCE, UNTIL, cache)
    return first, d.counted(before), fp


def naive(d: GitHubDouble, logins: list[str]) -> tuple[int, ClientFootprint]:
    """The obvious PyGithub loop: every question asked per developer per repo."""
    gh = make_github("t", d.base_url, for_tests=True)
    fp = ClientFootprint(SINCE, UNTIL)
    before = len(d.requests)
    for login in logins:
        for name in REPOS:
            _naive_repo(gh.get_repo(name), login, fp)
    return d.counted(before), fp


def _inside(when: datetime | None) -> bool:
    return when is not None and SINCE <= when < UNTIL


def _ref(obj: Any, when: datetime) -> dict[str, Any]:
    return {"number": obj.number, "title": obj.title, "url": obj.html_url, "at": iso_z(when)}


def _naive_repo(repo: Any, login: str, fp: ClientFootprint) -> None:
    name, add = repo.full_name, fp.activities.append
    titles: dict[int, Any] = {}
    for i in repo.get_issues(creator=login, state="all", since=SINCE):
        if i.pull_request is None and _inside(i.created_at):
            add(Activity(login, name, "issues_opened", i.created_at, _ref(i, i.created_at)))
    for c in repo.get_issues_comments(since=SINCE):
        if c.user.login == login and _inside(c.created_at):
            number = int(c.issue_url.rsplit("/", 1)[1])
            issue = titles.get(number) or titles.setdefault(number, repo.get_issue(number))
            add(Activity(login, name, "issues_commented", c.created_at, {
                **_ref(issue, c.created_at), "pr": issue.pull_request is not None,
                "comments": [{"id": c.id, "url": c.html_url, "at": iso_z(c.created_at)}]}))
    for e in repo.get_issues_events():
        if e.created_at < SINCE:
            break
        if e.event == "closed" and e.actor.login == login and e.issue.pull_request is None \
                and _inside(e.created_at):
            add(Activity(login, name, "issues_closed", e.created_at, _ref(e.issue, e.created_at)))
    shas = _naive_pulls(repo, login, fp)
    for c in repo.get_commits(author=login, since=SINCE, until=UNTIL):
        when = c.commit.committer.date
        if c.sha not in shas and _inside(when):
            add(Activity(login, name, "commits", when, {
                "sha": c.sha, "message": c.commit.message.splitlines()[0],
                "url": c.html_url, "at": iso_z(when)}))
    for i in repo.get_issues(assignee=login, state="open"):
        if i.pull_request is None:
            fp.assigned.setdefault(login, []).append(
                {"repo": name, "number": i.number, "title": i.title, "url": i.html_url})


def _naive_pulls(repo: Any, login: str, fp: ClientFootprint) -> set[str]:
    shas: set[str] = set()
    for p in repo.get_pulls(state="all", sort="updated", direction="desc"):
        if p.updated_at < SINCE:
            break
        shas.add(p.merge_commit_sha or "")
        if p.user.login != login or not (_inside(p.created_at) or _inside(p.merged_at)):
            continue
        # Plain dicts: .raw_data would "complete" each lazy commit with another request.
        commits = [{"sha": c.sha, "commit": {"message": c.commit.message}}
                   for c in p.get_commits()]
        shas.update(c["sha"] for c in commits)
        for kind, when in (("prs_opened", p.created_at), ("prs_merged", p.merged_at)):
            if _inside(when):
                fp.activities.append(Activity(login, repo.full_name, kind, when, {
                    **_ref(p, when), "commits": summarise(commits),
                    "commit_count": len(commits)}))
    return shas


def run(quick: bool) -> dict[str, Any]:
    per_cycle: dict[str, int] = {}
    unchanged = 0
    for n in (10, 100, 1000):
        logins = [f"dev{k:04d}" for k in range(n)]
        with GitHubDouble() as d:
            # The naive run needs far more than GitHub's 5,000/h: lift the cap to measure it.
            d.rate_limit = d.rate_remaining = 10**7
            populate(d, logins)
            per_cycle[str(n)], second, fp = efficient(d, logins)
            if n == 100:
                unchanged = second
                sample = logins[::10] if quick else logins
                naive_count, naive_fp = naive(d, sample)
                for login in sample:
                    if naive_fp.for_developer(login) != fp.for_developer(login):
                        raise AssertionError(f"naive and per-repo footprints differ for {login}")
    return {"footprint_requests_per_cycle": per_cycle,
            "footprint_requests_unchanged_cycle": unchanged,
            "footprint_naive_requests_100": naive_count * 100 // len(sample),
            "footprint_naive_measured_developers": len(sample),
            "footprint_repos": len(REPOS)}


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
