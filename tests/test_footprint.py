"""Footprint collection through the real PyGithub client against the GitHub double."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mailsup.github import api as github_client
from mailsup.github.api import make_github
from mailsup.github.collector import (
    FootprintUnavailable,
    MemoryEtagCache,
    collect,
    fetch_org_directory,
)
from mailsup.testing.github_api import GitHubDouble

# Until conftest.py imports it, load the github_double fixture from here.

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # a Monday


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def gh_for(double: GitHubDouble):
    return make_github(double.token or "x", double.base_url, for_tests=True)


def seed(d: GitHubDouble) -> None:
    """A day in acme/api and acme/web: alice, bob, and an outsider."""
    d.add_issue("acme/api", 1, "Login fails", "alice", at(1), assignees=["bob"])
    d.add_issue("acme/api", 2, "Old bug", "carol", at(-30), assignees=["alice"])
    d.add_issue("acme/api", 3, "Old closed", "bob", at(-30))
    d.close_issue("acme/api", 3, at(2), "alice")
    d.add_comment("acme/api", 1, "bob", at(1.5))
    d.add_comment("acme/api", 1, "bob", at(1.75))
    d.add_comment("acme/api", 2, "carol", at(1.5))
    d.add_issue("acme/api", 4, "Add SSO", "bob", at(2), is_pr=True, merged_at=at(3),
                commits=["Add SSO client\n\nlong text", "Wire SSO into login"])
    d.add_commit("acme/api", "a1", "alice", "Fix typo in README", at(2.5))
    d.add_commit("acme/api", "a0", "alice", "Yesterday's work", at(-20))
    d.add_issue("acme/web", 7, "Dark mode", "alice", at(0.5), is_pr=True)
    d.add_commit("acme/web", "w1", None, "Pushed from laptop", at(2), author_email="A@corp.test")
    d.add_commit("acme/web", "w2", "carol", "Outsider commit", at(2))


REPOS = ["acme/api", "acme/web"]


def test_slices_per_developer(github_double):
    seed(github_double)
    fp = collect(gh_for(github_double), REPOS, ["alice", "Bob"], at(0), at(4),
                 MemoryEtagCache(), emails={"a@corp.test": "alice"})
    alice = fp.for_developer("alice")
    api = alice["repos"]["acme/api"]
    assert [i["number"] for i in api["issues_closed"]] == [3]
    assert api["issues_opened"][0] == {"number": 1, "title": "Login fails", "at":
                                       "2026-03-02T07:00:00Z",
                                       "url": "https://github.test/acme/api/issues/1"}
    assert [c["sha"] for c in api["commits"]] == ["a1"]
    web = alice["repos"]["acme/web"]
    assert [p["number"] for p in web["prs_opened"]] == [7]
    assert [c["sha"] for c in web["commits"]] == ["w1"]  # matched by email
    assert alice["assigned"] == [{"repo": "acme/api", "number": 2, "title": "Old bug",
                                  "url": "https://github.test/acme/api/issues/2"}]
    bob = fp.for_developer("BOB")
    api = bob["repos"]["acme/api"]
    assert list(bob["repos"]) == ["acme/api"]
    assert len(api["issues_commented"]) == 1
    assert [c["at"] for c in api["issues_commented"][0]["comments"]] == [
        "2026-03-02T07:30:00Z", "2026-03-02T07:45:00Z"]
    merged = api["prs_merged"][0]
    assert merged["commits"] == "Add SSO client; Wire SSO into login"
    assert merged["at"] == "2026-03-02T09:00:00Z"
    assert api["commits"] == []  # the PR's commits and merge commit are the PR's
    assert bob["assigned"][0]["number"] == 1
    json.dumps(alice), json.dumps(bob)
    assert fp.for_developer("carol") == {"repos": {}, "assigned": [], "notes": []}


def test_narrowed_slice(github_double):
    seed(github_double)
    fp = collect(gh_for(github_double), REPOS, ["alice"], at(0), at(4), MemoryEtagCache())
    late = fp.for_developer("alice", since=at(2.25))
    assert [c["sha"] for c in late["repos"]["acme/api"]["commits"]] == ["a1"]
    assert "acme/web" not in late["repos"]


def many_developers(d: GitHubDouble, repos: int = 5) -> list[str]:
    logins = [f"dev{n:03d}" for n in range(100)]
    for r in range(repos):
        name = f"acme/r{r}"
        for n in range(1, 6):
            d.add_issue(name, n, f"Issue {n}", logins[n * 7 % 100], at(n / 10),
                        assignees=[logins[n * 11 % 100]])
        d.add_commit(name, f"c{r}", logins[r], "work", at(1))
    return logins


def test_requests_flat_in_developers(github_double):
    logins = many_developers(github_double)
    gh = gh_for(github_double)
    counts = []
    for n in (10, 100):
        before = len(github_double.requests)
        collect(gh, [f"acme/r{r}" for r in range(5)], logins[:n], at(0), at(4),
                MemoryEtagCache())
        counts.append(github_double.counted(before))
    assert counts[0] == counts[1] == 5 * 6


def test_unchanged_second_cycle_is_free(github_double):
    seed(github_double)
    gh, cache = gh_for(github_double), MemoryEtagCache()
    first = collect(gh, REPOS, ["alice", "bob"], at(0), at(3.5), cache)
    before = len(github_double.requests)
    # A later instant in the same hour: same URLs, so every answer is a 304.
    second = collect(gh, REPOS, ["alice", "bob"], at(0), at(3.75), cache)
    assert github_double.counted(before) == 0
    assert second.requests == 0 and second.not_modified == first.requests
    assert second.for_developer("bob") == first.for_developer("bob")


def test_change_is_seen_through_the_cache(github_double):
    seed(github_double)
    gh, cache = gh_for(github_double), MemoryEtagCache()
    collect(gh, REPOS, ["alice"], at(0), at(4), cache)
    github_double.add_commit("acme/web", "w3", "alice", "More", at(3))
    fp = collect(gh, REPOS, ["alice"], at(0), at(4), cache)
    assert "w3" in [c["sha"] for c in fp.for_developer("alice")["repos"]["acme/web"]["commits"]]
    assert 1 <= fp.requests <= 2


@pytest.mark.parametrize("mode", ["error", "refused"])
def test_github_down(github_double, mode):
    seed(github_double)
    gh = gh_for(github_double)
    github_double.set_down(mode)
    with pytest.raises(FootprintUnavailable, match="GitHub is"):
        collect(gh, REPOS, ["alice"], at(0), at(4), MemoryEtagCache())
    github_double.set_down(None)
    assert collect(gh, REPOS, ["alice"], at(0), at(4), MemoryEtagCache()).notes == []


def test_rate_limit_exhausted(github_double):
    seed(github_double)
    github_double.exhaust_rate_limit()
    with pytest.raises(FootprintUnavailable, match="rate limit exhausted"):
        collect(gh_for(github_double), REPOS, ["alice"], at(0), at(4), MemoryEtagCache())


def test_rate_limit_low_stops_early(github_double):
    seed(github_double)
    github_double.exhaust_rate_limit(remaining=52)
    with pytest.raises(FootprintUnavailable, match="nearly used up"):
        collect(gh_for(github_double), REPOS, ["alice"], at(0), at(4), MemoryEtagCache())
    assert github_double.counted() == 3  # 52 -> 49, then no further request


def test_missing_repo_is_a_note(github_double):
    seed(github_double)
    fp = collect(gh_for(github_double), ["acme/gone", *REPOS], ["alice"], at(0), at(4),
                 MemoryEtagCache())
    assert fp.notes == ["acme/gone: repository not found (404)"]
    alice = fp.for_developer("alice")
    assert alice["notes"] == fp.notes and set(alice["repos"]) == set(REPOS)


def test_short_secondary_limit_is_waited_out(github_double, monkeypatch):
    seed(github_double)
    waits: list[float] = []
    monkeypatch.setattr(github_client, "sleep", waits.append)
    github_double.secondary_limit(retry_after=2)
    collect(gh_for(github_double), REPOS, ["alice"], at(0), at(4), MemoryEtagCache())
    assert waits == [2.0]
    github_double.secondary_limit(retry_after=600)
    with pytest.raises(FootprintUnavailable, match="slow down for 600s"):
        collect(gh_for(github_double), REPOS, ["alice"], at(0), at(4), MemoryEtagCache())
    assert waits == [2.0]


def test_pagination(github_double):
    d = github_double
    for n in range(1, 251):
        d.add_issue("acme/big", n, f"Issue {n}", "alice", at(n / 100))
    for n in range(251, 401):  # old PRs, not touched in the window
        d.add_issue("acme/big", n, f"Old PR {n}", "bob", at(-48), is_pr=True)
    d.add_issue("acme/big", 401, "New PR", "bob", at(3), is_pr=True)
    fp = collect(gh_for(d), ["acme/big"], ["alice", "bob"], at(0), at(4), MemoryEtagCache())
    opened = fp.for_developer("alice")["repos"]["acme/big"]["issues_opened"]
    assert sorted(i["number"] for i in opened) == list(range(1, 251))
    pages = [r.query.get("page", "1") for r in d.requests if r.path == "/repos/acme/big/issues"
             and r.query["state"] == "all"]
    assert pages == ["1", "2", "3"]  # 250 issues + the new PR, 100 a page; old PRs filtered
    pulls = [r for r in d.requests if r.path == "/repos/acme/big/pulls"]
    assert len(pulls) == 1  # the first page already reaches past the window
    assert [p["number"] for p in fp.for_developer("bob")["repos"]["acme/big"]["prs_opened"]] \
        == [401]


def test_org_directory(github_double):
    d = github_double
    d.add_repo("acme/api")
    d.add_repo("acme/web")
    d.add_repo("other/x")
    d.add_team("acme", "platform", "Platform", ["bob", "alice"])
    d.add_team("acme", "web", "Web", ["carol"])
    assert fetch_org_directory(gh_for(d), "acme") == {
        "org": "acme", "repos": ["api", "web"],
        "teams": [{"slug": "platform", "name": "Platform", "members": ["alice", "bob"]},
                  {"slug": "web", "name": "Web", "members": ["carol"]}]}


# ---- property: consecutive windows partition the events -----------------------------

DEVS = ["alice", "bob", "carol"]      # carol is not listed: never reported
LISTED = ["alice", "bob"]
KINDS = ["issue", "close", "comment", "pr", "merge", "commit"]
START = T0 - timedelta(hours=12)  # the first window opens the evening before

# When: a half-hour slot from START, or one of the window instants (emails and replies)
# shifted by -1/0/+1 s, because the boundaries are where events get lost or doubled.
when_st = st.one_of(st.integers(0, 4 * 48).map(lambda n: ("slot", n, 0)),
                    st.tuples(st.just("instant"), st.integers(0, 20), st.sampled_from([-1, 0, 1])))
event_st = st.tuples(st.sampled_from(KINDS), st.sampled_from(DEVS), when_st,
                     st.sampled_from(["acme/api", "acme/web"]), st.integers(0, 50))
# Per business day: None (no reply that day) or minutes after the 06:00 email.
reply_st = st.one_of(st.none(), st.integers(0, 12).map(lambda n: n * 30))


def instants(replies: list[int | None]) -> list[datetime]:
    """Every email and reply instant of the schedule, in order."""
    out = []
    for day, reply in enumerate(replies):
        email = T0 + timedelta(days=day)
        out += [email] if reply is None else [email, email + timedelta(minutes=reply)]
    return out


def resolve(when: tuple, moments: list[datetime]) -> datetime:
    kind, n, shift = when
    if kind == "slot":
        return START + timedelta(minutes=30 * n)
    return moments[n % len(moments)] + timedelta(seconds=shift)


class World:
    """Applies generated events to the double in time order and remembers them."""

    def __init__(self, d: GitHubDouble, events: list[tuple]) -> None:
        """`events` are (kind, developer, time, repo, pick) with resolved times."""
        self.d, self.pending = d, sorted(events, key=lambda e: e[2])
        self.happened: list[tuple[datetime, tuple]] = []  # (time, identity) of listed devs
        self.numbers: dict[str, int] = {}
        self.open: dict[tuple[str, bool], list[int]] = {}

    def advance(self, now: datetime) -> None:
        """Everything up to and including `now` has happened."""
        while self.pending and self.pending[0][2] <= now:
            self.apply(*self.pending.pop(0))

    def apply(self, kind: str, dev: str, when: datetime, repo: str, pick: int) -> None:
        if kind in ("issue", "pr"):
            number = self.numbers[repo] = self.numbers.get(repo, 0) + 1
            self.d.add_issue(repo, number, f"{kind} {number}", dev, when, is_pr=kind == "pr",
                             commits=[f"commit of {number}"] if kind == "pr" else ())
            self.open.setdefault((repo, kind == "pr"), []).append(number)
            self.record(dev, when, (kind, repo, number))
        elif kind in ("close", "merge") and self.open.get((repo, kind == "merge")):
            numbers = self.open[(repo, kind == "merge")]
            number = numbers.pop(pick % len(numbers))
            if kind == "merge":
                self.d.merge_pull(repo, number, when, dev)
                # A merge is the PR author's: the merger is only the committer.
                dev = self.d.repos[repo].issues[number].user
            else:
                self.d.close_issue(repo, number, when, dev)
            self.record(dev, when, (kind, repo, number))
        elif kind == "comment" and self.numbers.get(repo):
            c = self.d.add_comment(repo, pick % self.numbers[repo] + 1, dev, when)
            self.record(dev, when, ("comment", c.id))
        elif kind == "commit":
            sha = f"{repo}-{when:%d%H%M%S}-{pick}-{len(self.happened)}"
            self.d.add_commit(repo, sha, dev, "direct push", when)
            self.record(dev, when, ("commit", sha))

    def record(self, dev: str, when: datetime, identity: tuple) -> None:
        if dev in LISTED:
            self.happened.append((when, (dev, *identity)))


def identities(login: str, fp: dict) -> list[tuple]:
    """Flatten one developer's footprint into event identities comparable with World."""
    out: list[tuple] = []
    names = {"issues_opened": "issue", "issues_closed": "close", "prs_opened": "pr",
             "prs_merged": "merge"}
    for repo, lists in fp["repos"].items():
        for key, kind in names.items():
            out += [(login, kind, repo, i["number"]) for i in lists[key]]
        out += [(login, "comment", c["id"]) for i in lists["issues_commented"]
                for c in i["comments"]]
        out += [(login, "commit", c["sha"]) for c in lists["commits"]]
    return out


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(events=st.lists(event_st, max_size=40), replies=st.lists(reply_st, min_size=1,
                                                                  max_size=4))
# Events exactly on an email or reply instant, and a day without a reply.
@example(events=[("issue", "alice", ("slot", 1, 0), "acme/api", 0),
                 ("close", "bob", ("instant", 1, 0), "acme/api", 0),
                 ("comment", "alice", ("instant", 0, 0), "acme/api", 0),
                 ("commit", "bob", ("instant", 1, 0), "acme/web", 0),
                 ("pr", "alice", ("instant", 2, -1), "acme/web", 0),
                 ("merge", "carol", ("instant", 3, 0), "acme/web", 0)],
         replies=[60, None, 30])
def test_every_event_in_exactly_one_snapshot(events, replies):
    schedule = [*replies, 24 * 60]  # a final reply, a day after the last email, closes it all
    moments = instants(schedule)
    with GitHubDouble() as d:
        d.add_repo("acme/api")
        d.add_repo("acme/web")
        resolved = [(k, dev, resolve(w, moments), repo, pick) for k, dev, w, repo, pick in events]
        gh, cache, world = gh_for(d), MemoryEtagCache(), World(d, resolved)
        window_start, seen = START, []
        for day, reply in enumerate(schedule):
            email = T0 + timedelta(days=day)
            world.advance(email)
            preview = collect(gh, REPOS, LISTED, window_start, email, cache)
            if reply is None:
                continue  # no reply: the next email's window still starts at window_start
            reply_at = email + timedelta(minutes=reply)
            world.advance(reply_at)
            snap = collect(gh, REPOS, LISTED, window_start, reply_at, cache)
            for login in LISTED:
                got = identities(login, snap.for_developer(login))
                assert set(identities(login, preview.for_developer(login))) <= set(got)
                seen += got
            window_start = reply_at
        expected = [ident for when, ident in world.happened if when < window_start]
        assert sorted(seen) == sorted(expected)


def test_bad_token_is_unavailable_not_a_note_per_repo(github_double):
    seed(github_double)
    gh = make_github("wrong", github_double.base_url, for_tests=True)
    with pytest.raises(FootprintUnavailable, match="rejected the token"):
        collect(gh, REPOS, ["alice"], at(0), at(4), MemoryEtagCache())


def test_production_client_gives_up_quickly(github_double):
    """The real client's retries must not stall a tick when GitHub is failing."""
    seed(github_double)
    gh = make_github(github_double.token, github_double.base_url)
    github_double.set_down("error")
    started = time.monotonic()
    with pytest.raises(FootprintUnavailable, match="HTTP 500"):
        collect(gh, REPOS, ["alice"], at(0), at(4), MemoryEtagCache())
    assert time.monotonic() - started < 5
    assert len(github_double.requests) == 3  # the first GET, tried three times
