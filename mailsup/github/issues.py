""""Overdue SUP review" issues in a client's HR repo, created and closed exactly once.

Why a marker in the body: the job may crash between "issue created on GitHub" and
"issue number recorded in our database". Before creating, we look for an issue
carrying the SUP's marker, so a rerun adopts the orphan instead of duplicating it.
The label listing is used rather than the search API because search is indexed
with a delay and would miss an issue created a moment ago.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # PyGithub loads with the client (github/api.py says why)
    from github import Github, GithubException
    from github.Issue import Issue

from mailsup.github import api as github_client

log = logging.getLogger(__name__)

LABEL = "mailsup"
MAX_WAIT = 10.0     # longest Retry-After we sit out inside a tick
CLOSE_MARKER = "<!-- mailsup:review-done -->"

T = TypeVar("T")


class HrTicketError(Exception):
    """The HR ticket could not be created or closed now; retry on a later tick."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def marker(sup_id: int) -> str:
    return f"<!-- mailsup:sup-{sup_id} -->"


def ensure_overdue_issue(gh: Github, hr_repo: str, sup_id: int, assignee_login: str | None,
                         title: str, body: str) -> int:
    """Return the number of the SUP's overdue-review issue, creating it only if none exists."""
    tag = marker(sup_id)
    repo = gh.get_repo(hr_repo)  # lazy with make_github(): no request
    existing = _call(lambda: _find_marked(repo, tag))
    if existing is not None:
        log.info("HR ticket for SUP %s already exists: %s#%s", sup_id, hr_repo, existing)
        return existing
    full_body = f"{body.rstrip()}\n\n{tag}\n"
    assignees = [assignee_login] if assignee_login else []
    # One line: a title with a newline would break GitHub's rendering and our subjects.
    title = " ".join(title.split())
    try:
        issue = _call(lambda: repo.create_issue(title, full_body, assignees=assignees,
                                                labels=[LABEL]))
    except HrTicketError as exc:
        if not assignees or exc.status != 422:
            raise
        # The HR worker may not be a collaborator of the HR repo: an unassigned ticket
        # is still better than none.
        log.warning("cannot assign %s in %s (%s); creating unassigned", assignee_login,
                    hr_repo, exc)
        issue = _call(lambda: repo.create_issue(title, full_body, labels=[LABEL]))
    log.info("created HR ticket %s#%s for SUP %s", hr_repo, issue.number, sup_id)
    return issue.number


def _find_marked(repo, tag: str) -> int | None:
    # Newest first: an orphan from a crash is recent, so the scan usually stops early.
    for issue in repo.get_issues(state="all", labels=[LABEL], sort="created",
                                 direction="desc"):
        if tag in (issue.body or ""):
            return issue.number
    return None


def close_issue(gh: Github, hr_repo: str, number: int, comment: str) -> None:
    """Comment, then close; safe to repeat, and after a crash between the two steps."""
    issue: Issue = gh.get_repo(hr_repo).get_issue(number)
    # Reading the state is what fetches a lazy issue, so it must happen inside _call.
    if _call(lambda: issue.state) == "closed":
        return
    already = _call(lambda: any(CLOSE_MARKER in (c.body or "") for c in issue.get_comments()))
    if not already:
        _call(lambda: issue.create_comment(f"{comment.rstrip()}\n\n{CLOSE_MARKER}\n"))
    _call(lambda: issue.edit(state="closed"))
    log.info("closed HR ticket %s#%s", hr_repo, number)


def _call(fn: Callable[[], T]) -> T:
    """Run a GitHub call, sitting out a short secondary rate limit once or twice."""
    from github import GithubException  # loaded with the client that ``fn`` uses

    for attempt in range(3):
        try:
            return fn()
        except GithubException as exc:
            wait = _retry_after(exc)
            if wait is None or wait > MAX_WAIT or attempt == 2:
                raise HrTicketError(_describe(exc), exc.status) from exc
            log.info("GitHub secondary rate limit: waiting %.0fs", wait)
            github_client.sleep(wait)
        except OSError as exc:
            raise HrTicketError(f"GitHub is unreachable ({type(exc).__name__})") from exc
    raise AssertionError("unreachable")


def _retry_after(exc: GithubException) -> float | None:
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    if exc.status in (403, 429) and "retry-after" in headers:
        return float(headers["retry-after"])
    return None


def _describe(exc: GithubException) -> str:
    message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    if exc.status in (403, 429) and "retry-after" in headers:
        return f"GitHub rate limit: retry after {headers['retry-after']}s ({exc.status})"
    return f"GitHub error {exc.status}: {message}"
