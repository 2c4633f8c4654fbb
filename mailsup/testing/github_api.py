"""An in-process double of the GitHub REST endpoints mailsup uses.

Driven over real HTTP by the real PyGithub client, so the code under test goes
through the same requester, pagination and error paths as in production. It
emulates the parts of GitHub's behaviour that mailsup's design relies on:
pagination with Link headers, ETag / If-None-Match -> 304 (not counted against
the rate limit), X-RateLimit-* headers, primary and secondary rate limits,
404 for unknown repos and an outage switch. Every request is logged so tests
can count them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

HTML = "https://github.test"


def iso(dt: datetime | None) -> str | None:
    """GitHub's timestamp format: whole seconds, UTC, 'Z'."""
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _user(login: str | None) -> dict[str, Any] | None:
    if login is None:
        return None
    uid = int(hashlib.sha1(login.encode()).hexdigest()[:7], 16)
    return {"login": login, "id": uid, "type": "User", "html_url": f"{HTML}/{login}"}


@dataclass
class Issue:
    repo: str
    number: int
    title: str
    user: str
    created_at: datetime
    body: str = ""
    closed_at: datetime | None = None
    closed_by: str | None = None
    assignees: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    is_pr: bool = False
    merged_at: datetime | None = None
    merge_commit_sha: str | None = None
    commits: list[dict[str, Any]] = field(default_factory=list)
    updated_at: datetime | None = None
    comments: int = 0

    def touch(self, at: datetime) -> None:
        if self.updated_at is None or at > self.updated_at:
            self.updated_at = at


@dataclass
class Comment:
    id: int
    repo: str
    issue_number: int
    user: str
    body: str
    created_at: datetime


@dataclass
class Commit:
    repo: str
    sha: str
    author_login: str | None
    message: str
    date: datetime
    author_email: str | None = None


@dataclass
class Event:
    id: int
    repo: str
    issue_number: int
    actor: str
    event: str
    created_at: datetime


@dataclass
class Repo:
    full_name: str
    issues: dict[int, Issue] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    collaborators: set[str] | None = None


@dataclass
class Team:
    org: str
    slug: str
    name: str
    members: list[str]


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    status: int
    counted: bool


class Reply(Exception):
    """Raised inside a route to answer with an error status."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class GitHubDouble:
    """The server plus its in-memory data model; use as a context manager."""

    def __init__(self, token: str | None = None, login: str = "mailsup-bot") -> None:
        self.token, self.login = token, login
        # Classic tokens: GitHub lists the token's scopes on every answer
        # (X-OAuth-Scopes); None sends no header, as for fine-grained tokens.
        self.scopes: str | None = None
        self.repos: dict[str, Repo] = {}
        self.orgs: dict[str, list[Team]] = {}
        self.requests: list[LoggedRequest] = []
        self.rate_limit = 5000
        self.rate_remaining = 5000
        self.rate_reset = int(time.time()) + 3600
        self.down_mode: str | None = None
        self._secondary: list[tuple[int, bool]] = []  # (retry_after, writes_only)
        self._ids = itertools.count(1000)
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._port = 0
        self.start()

    # ---- server lifecycle -------------------------------------------------

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"double": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        self._httpd.daemon_threads = True
        self._port = self._httpd.server_address[1]
        # A short poll interval keeps shutdown (and so each test's teardown) quick.
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> GitHubDouble:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # ---- switches ---------------------------------------------------------

    def set_down(self, mode: str | None) -> None:
        """'error' answers 500 to everything, 'refused' stops listening, None recovers."""
        if mode == "refused":
            self.stop()
        elif self._httpd is None:
            self.start()
        self.down_mode = mode

    def exhaust_rate_limit(self, remaining: int = 0) -> None:
        self.rate_remaining = remaining

    def secondary_limit(self, retry_after: int = 1, times: int = 1, writes_only: bool = False):
        """The next `times` matching requests get a 403 secondary limit with Retry-After."""
        self._secondary.extend([(retry_after, writes_only)] * times)

    def counted(self, since: int = 0) -> int:
        """Requests GitHub would count against the limit (not 304s, not /rate_limit)."""
        return sum(1 for r in self.requests[since:] if r.counted)

    def reset_log(self) -> None:
        self.requests.clear()

    # ---- data model -------------------------------------------------------

    def add_repo(self, full_name: str, collaborators: Iterable[str] | None = None) -> Repo:
        with self._lock:
            repo = self.repos.setdefault(full_name, Repo(full_name))
            if collaborators is not None:
                repo.collaborators = set(collaborators)
            self.orgs.setdefault(full_name.split("/")[0], [])
            return repo

    def remove_repo(self, full_name: str) -> None:
        self.repos.pop(full_name, None)

    def add_team(self, org: str, slug: str, name: str, members: Iterable[str]) -> None:
        with self._lock:
            self.orgs.setdefault(org, []).append(Team(org, slug, name, list(members)))

    def add_issue(
        self, repo: str, number: int, title: str, user: str, created_at: datetime,
        closed_at: datetime | None = None, assignees: Iterable[str] = (), is_pr: bool = False,
        merged_at: datetime | None = None, commits: Iterable[dict[str, Any] | str] = (),
        closed_by: str | None = None, body: str = "", labels: Iterable[str] = (),
    ) -> Issue:
        """Add an issue or PR. `commits` of a PR: dicts (sha, message, author, date) or messages.

        A merged PR's commits and a merge commit also land on the default branch, as with
        GitHub's merge button.
        """
        with self._lock:
            r = self.add_repo(repo)
            issue = Issue(repo, number, title, user, created_at, body=body,
                          assignees=list(assignees), labels=list(labels), is_pr=is_pr)
            issue.touch(created_at)
            for i, c in enumerate(commits):
                c = {"message": c} if isinstance(c, str) else dict(c)
                c.setdefault("sha", hashlib.sha1(f"{repo}#{number}/{i}".encode()).hexdigest())
                c.setdefault("author", user)
                c.setdefault("date", created_at)
                issue.commits.append(c)
            r.issues[number] = issue
            if merged_at is not None:
                self.merge_pull(repo, number, merged_at, closed_by)
            elif closed_at is not None:
                self.close_issue(repo, number, closed_at, closed_by or user)
            return issue

    def close_issue(self, repo: str, number: int, at: datetime, by: str) -> None:
        with self._lock:
            issue = self.repos[repo].issues[number]
            issue.closed_at, issue.closed_by = at, by
            issue.touch(at)
            self._event(repo, number, by, "closed", at)

    def merge_pull(self, repo: str, number: int, at: datetime, by: str | None = None) -> None:
        with self._lock:
            issue = self.repos[repo].issues[number]
            by = by or issue.user
            issue.merged_at = at
            issue.merge_commit_sha = hashlib.sha1(f"{repo}#{number}/merge".encode()).hexdigest()
            for c in issue.commits:
                self.add_commit(repo, c["sha"], c["author"], c["message"], c["date"])
            self.add_commit(repo, issue.merge_commit_sha, by,
                            f"Merge pull request #{number}\n\n{issue.title}", at)
            self._event(repo, number, by, "merged", at)
            self.close_issue(repo, number, at, by)

    def add_comment(self, repo: str, issue_number: int, user: str, created_at: datetime,
                    body: str = "comment") -> Comment:
        with self._lock:
            r = self.repos[repo]
            comment = Comment(next(self._ids), repo, issue_number, user, body, created_at)
            r.comments.append(comment)
            r.issues[issue_number].comments += 1
            r.issues[issue_number].touch(created_at)
            return comment

    def add_commit(self, repo: str, sha: str, author_login: str | None, message: str,
                   date: datetime, author_email: str | None = None) -> Commit:
        with self._lock:
            commit = Commit(repo, sha, author_login, message, date, author_email)
            self.add_repo(repo).commits.append(commit)
            return commit

    def _event(self, repo: str, number: int, actor: str, kind: str, at: datetime) -> None:
        self.repos[repo].events.append(Event(next(self._ids), repo, number, actor, kind, at))

    # ---- JSON renderings ---------------------------------------------------

    def issue_json(self, i: Issue) -> dict[str, Any]:
        api = f"{self.base_url}/repos/{i.repo}"
        kind = "pull" if i.is_pr else "issues"
        data = {
            "id": hash((i.repo, i.number)) & 0xFFFFFFF, "number": i.number, "title": i.title,
            "body": i.body, "state": "closed" if i.closed_at else "open",
            "user": _user(i.user), "assignee": _user(i.assignees[0]) if i.assignees else None,
            "assignees": [_user(a) for a in i.assignees],
            "labels": [{"name": n, "id": abs(hash(n)) % 10**6} for n in i.labels],
            "comments": i.comments, "created_at": iso(i.created_at),
            "updated_at": iso(i.updated_at), "closed_at": iso(i.closed_at),
            "url": f"{api}/issues/{i.number}", "html_url": f"{HTML}/{i.repo}/{kind}/{i.number}",
            "repository_url": api,
        }
        if i.is_pr:
            data["pull_request"] = {"url": f"{api}/pulls/{i.number}",
                                    "html_url": data["html_url"], "merged_at": iso(i.merged_at)}
        return data

    def pull_json(self, i: Issue) -> dict[str, Any]:
        data = self.issue_json(i)
        data.pop("pull_request")
        data.update(url=f"{self.base_url}/repos/{i.repo}/pulls/{i.number}",
                    merged_at=iso(i.merged_at), merge_commit_sha=i.merge_commit_sha)
        return data

    def commit_json(self, repo: str, sha: str, login: str | None, message: str,
                    date: datetime, email: str | None = None) -> dict[str, Any]:
        person = {"name": login or "someone", "email": email or f"{login}@users.test",
                  "date": iso(date)}
        return {"sha": sha, "url": f"{self.base_url}/repos/{repo}/commits/{sha}",
                "html_url": f"{HTML}/{repo}/commit/{sha}", "author": _user(login),
                "committer": _user(login), "parents": [],
                "commit": {"message": message, "author": person, "committer": person}}

    def comment_json(self, c: Comment) -> dict[str, Any]:
        api = f"{self.base_url}/repos/{c.repo}/issues"
        return {"id": c.id, "body": c.body, "user": _user(c.user),
                "created_at": iso(c.created_at), "updated_at": iso(c.created_at),
                "url": f"{api}/comments/{c.id}", "issue_url": f"{api}/{c.issue_number}",
                "html_url": f"{HTML}/{c.repo}/issues/{c.issue_number}#issuecomment-{c.id}"}


# ---- request handling -------------------------------------------------------

Route = Callable[["GitHubDouble", dict[str, str], dict[str, str], Any], Any]
ROUTES: list[tuple[str, re.Pattern[str], Route]] = []


def route(method: str, pattern: str) -> Callable[[Route], Route]:
    def register(fn: Route) -> Route:
        ROUTES.append((method, re.compile(f"^{pattern}$"), fn))
        return fn
    return register


def _repo(d: GitHubDouble, p: dict[str, str]) -> Repo:
    repo = d.repos.get(f"{p['owner']}/{p['name']}")
    if repo is None:
        raise Reply(404, "Not Found")
    return repo


def _issue(d: GitHubDouble, p: dict[str, str]) -> Issue:
    issue = _repo(d, p).issues.get(int(p["number"]))
    if issue is None:
        raise Reply(404, "Not Found")
    return issue


def _since(q: dict[str, str], key: str = "since") -> datetime | None:
    return parse_iso(q[key]) if q.get(key) else None


REPO = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"


@route("GET", "/user")
def get_user(d: GitHubDouble, p, q, body):
    return _user(d.login)


@route("GET", "/rate_limit")
def get_rate_limit(d: GitHubDouble, p, q, body):
    core = {"limit": d.rate_limit, "remaining": d.rate_remaining, "reset": d.rate_reset,
            "used": d.rate_limit - d.rate_remaining}
    return {"resources": {"core": core}, "rate": core}


@route("GET", "/orgs/(?P<org>[^/]+)/repos")
def org_repos(d: GitHubDouble, p, q, body):
    if p["org"] not in d.orgs:
        raise Reply(404, "Not Found")
    names = sorted(n for n in d.repos if n.split("/")[0] == p["org"])
    return [{"name": n.split("/")[1], "full_name": n, "id": abs(hash(n)) % 10**8,
             "url": f"{d.base_url}/repos/{n}", "archived": False} for n in names]


@route("GET", "/orgs/(?P<org>[^/]+)/teams")
def org_teams(d: GitHubDouble, p, q, body):
    if p["org"] not in d.orgs:
        raise Reply(404, "Not Found")
    return [{"slug": t.slug, "name": t.name, "id": abs(hash(t.slug)) % 10**6,
             "url": f"{d.base_url}/orgs/{t.org}/teams/{t.slug}"} for t in d.orgs[p["org"]]]


@route("GET", "/orgs/(?P<org>[^/]+)/teams/(?P<slug>[^/]+)/members")
def team_members(d: GitHubDouble, p, q, body):
    for t in d.orgs.get(p["org"], []):
        if t.slug == p["slug"]:
            return [_user(m) for m in t.members]
    raise Reply(404, "Not Found")


@route("GET", REPO)
def get_repo(d: GitHubDouble, p, q, body):
    repo = _repo(d, p)
    return {"full_name": repo.full_name, "name": p["name"], "url": f"{d.base_url}{REPO}"}


def _issue_filter(q: dict[str, str]) -> Callable[[Issue], bool]:
    state, since = q.get("state", "open"), _since(q)
    assignee, creator = q.get("assignee"), q.get("creator")
    labels = [x for x in q.get("labels", "").split(",") if x]

    def keep(i: Issue) -> bool:
        if state != "all" and ("closed" if i.closed_at else "open") != state:
            return False
        if since and i.updated_at < since:
            return False
        if assignee == "*" and not i.assignees or assignee == "none" and i.assignees:
            return False
        if assignee not in (None, "*", "none") and assignee not in i.assignees:
            return False
        if creator and i.user != creator:
            return False
        return all(label in i.labels for label in labels)
    return keep


@route("GET", REPO + "/issues")
def list_issues(d: GitHubDouble, p, q, body):
    keep = _issue_filter(q)
    issues = [i for i in _repo(d, p).issues.values() if keep(i)]
    key = {"updated": lambda i: i.updated_at, "comments": lambda i: i.comments}.get(
        q.get("sort", "created"), lambda i: i.created_at)
    issues.sort(key=lambda i: (key(i), i.number), reverse=q.get("direction", "desc") == "desc")
    return [d.issue_json(i) for i in issues]


@route("POST", REPO + "/issues")
def create_issue(d: GitHubDouble, p, q, body):
    repo = _repo(d, p)
    assignees = list(body.get("assignees") or ([body["assignee"]] if body.get("assignee") else []))
    if repo.collaborators is not None and any(a not in repo.collaborators for a in assignees):
        raise Reply(422, "Validation Failed")
    number = max(repo.issues, default=0) + 1
    issue = d.add_issue(repo.full_name, number, body["title"], d.login,
                        datetime.now(UTC).replace(microsecond=0),
                        assignees=assignees, body=body.get("body") or "",
                        labels=body.get("labels") or ())
    return 201, d.issue_json(issue)


@route("GET", REPO + "/issues/comments")
def list_repo_comments(d: GitHubDouble, p, q, body):
    since = _since(q)
    comments = [c for c in _repo(d, p).comments if since is None or c.created_at >= since]
    comments.sort(key=lambda c: (c.created_at, c.id), reverse=q.get("direction") == "desc")
    return [d.comment_json(c) for c in comments]


@route("GET", REPO + "/issues/events")
def list_repo_events(d: GitHubDouble, p, q, body):
    repo = _repo(d, p)
    events = sorted(repo.events, key=lambda e: (e.created_at, e.id), reverse=True)
    return [{"id": e.id, "event": e.event, "actor": _user(e.actor),
             "created_at": iso(e.created_at), "issue": d.issue_json(repo.issues[e.issue_number])}
            for e in events]


@route("GET", REPO + r"/issues/(?P<number>\d+)")
def get_issue(d: GitHubDouble, p, q, body):
    return d.issue_json(_issue(d, p))


@route("PATCH", REPO + r"/issues/(?P<number>\d+)")
def edit_issue(d: GitHubDouble, p, q, body):
    issue = _issue(d, p)
    now = datetime.now(UTC).replace(microsecond=0)
    if body.get("state") == "closed" and issue.closed_at is None:
        d.close_issue(issue.repo, issue.number, now, d.login)
    elif body.get("state") == "open":
        issue.closed_at = None
        issue.touch(now)
    for key in ("title", "body"):
        if key in body:
            setattr(issue, key, body[key])
    return d.issue_json(issue)


@route("GET", REPO + r"/issues/(?P<number>\d+)/comments")
def list_issue_comments(d: GitHubDouble, p, q, body):
    issue = _issue(d, p)
    return [d.comment_json(c) for c in _repo(d, p).comments if c.issue_number == issue.number]


@route("POST", REPO + r"/issues/(?P<number>\d+)/comments")
def create_comment(d: GitHubDouble, p, q, body):
    issue = _issue(d, p)
    now = datetime.now(UTC).replace(microsecond=0)
    return 201, d.comment_json(d.add_comment(issue.repo, issue.number, d.login, now,
                                             body.get("body", "")))


@route("GET", REPO + "/pulls")
def list_pulls(d: GitHubDouble, p, q, body):
    state = q.get("state", "open")
    pulls = [i for i in _repo(d, p).issues.values() if i.is_pr and (
        state == "all" or ("closed" if i.closed_at else "open") == state)]
    key = (lambda i: i.updated_at) if q.get("sort") == "updated" else (lambda i: i.created_at)
    pulls.sort(key=lambda i: (key(i), i.number), reverse=q.get("direction", "desc") == "desc")
    return [d.pull_json(i) for i in pulls]


@route("GET", REPO + r"/pulls/(?P<number>\d+)/commits")
def list_pull_commits(d: GitHubDouble, p, q, body):
    issue = _issue(d, p)
    if not issue.is_pr:
        raise Reply(404, "Not Found")
    return [d.commit_json(issue.repo, c["sha"], c["author"], c["message"], c["date"])
            for c in issue.commits]


@route("GET", REPO + "/commits")
def list_commits(d: GitHubDouble, p, q, body):
    since, until, author = _since(q), _since(q, "until"), q.get("author")
    commits = [c for c in _repo(d, p).commits
               if (since is None or c.date >= since) and (until is None or c.date <= until)
               and (author is None or author in (c.author_login, c.author_email))]
    commits.sort(key=lambda c: c.date, reverse=True)
    return [d.commit_json(c.repo, c.sha, c.author_login, c.message, c.date, c.author_email)
            for c in commits]


class _Handler(BaseHTTPRequestHandler):
    double: GitHubDouble
    # HTTP/1.0: one request per connection, so a restarted server never meets a stale socket.
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _handle(self, method: str) -> None:
        d = self.double
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null") if length else None
        with d._lock:
            status, headers, payload, counted = self._dispatch(method, parts.path, query, body)
            d.requests.append(LoggedRequest(method, parts.path, query, status, counted))
            headers.update(self._rate_headers())
            if d.scopes is not None and status != 401:
                headers["X-OAuth-Scopes"] = d.scopes
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, method: str, path: str, query: dict[str, str], body: Any):
        d = self.double
        counted = path != "/rate_limit"
        try:
            self._gate(method, path)
            result = self._route(method, path, query, body)
        except Reply as e:
            counted = counted and e.status in (401, 404, 422)
            if counted:
                d.rate_remaining = max(d.rate_remaining - 1, 0)
            return e.status, e.headers, {"message": e.message}, counted
        status, payload = result if isinstance(result, tuple) else (200, result)
        headers: dict[str, str] = {}
        if isinstance(payload, list):
            payload, headers = self._paginate(path, query, payload)
        if method == "GET":
            digest = hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()
            etag = f'W/"{digest}"'
            headers["ETag"] = etag
            if self.headers.get("If-None-Match") == etag:
                return 304, headers, None, False
        if counted:
            d.rate_remaining = max(d.rate_remaining - 1, 0)
        return status, headers, payload, counted

    def _gate(self, method: str, path: str) -> None:
        """Outage, auth and rate limits, in the order GitHub applies them."""
        d = self.double
        if d.down_mode == "error":
            raise Reply(500, "Internal Server Error")
        if d.token and self.headers.get("Authorization") != f"token {d.token}" and \
                self.headers.get("Authorization") != f"Bearer {d.token}":
            raise Reply(401, "Bad credentials")
        if path == "/rate_limit":
            return
        if d.rate_remaining <= 0:
            raise Reply(403, "API rate limit exceeded for user ID 1.")
        for n, (retry_after, writes_only) in enumerate(d._secondary):
            if not writes_only or method != "GET":
                del d._secondary[n]
                raise Reply(403, "You have exceeded a secondary rate limit. Please wait a few "
                                 "minutes before you try again.", {"Retry-After": str(retry_after)})

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> Any:
        for verb, pattern, fn in ROUTES:
            m = pattern.match(path)
            if verb == method and m:
                return fn(self.double, m.groupdict(), query, body)
        raise Reply(404, "Not Found")

    def _paginate(self, path: str, query: dict[str, str], items: list[Any]):
        per_page = min(int(query.get("per_page", 30)), 100)
        page = max(int(query.get("page", 1)), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        links = {"next": page + 1, "last": last} if page < last else {}
        if page > 1:
            links.update(prev=page - 1, first=1)
        base = f"{self.double.base_url}{path}"
        header = ", ".join(f'<{base}?{urlencode({**query, "page": n})}>; rel="{rel}"'
                           for rel, n in links.items())
        chunk = items[(page - 1) * per_page: page * per_page]
        return chunk, ({"Link": header} if header else {})

    def _rate_headers(self) -> dict[str, str]:
        d = self.double
        return {"X-RateLimit-Limit": str(d.rate_limit),
                "X-RateLimit-Remaining": str(d.rate_remaining),
                "X-RateLimit-Reset": str(d.rate_reset),
                "X-RateLimit-Used": str(d.rate_limit - d.rate_remaining),
                "X-RateLimit-Resource": "core"}
