"""Overdue-review tickets through the real PyGithub client against the GitHub double."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailsup.github import api as github_client
from mailsup.github.api import make_github
from mailsup.github.issues import (
    CLOSE_MARKER,
    LABEL,
    HrTicketError,
    close_issue,
    ensure_overdue_issue,
    marker,
)

# Until conftest.py imports it, load the github_double fixture from here.

HR = "acme/hr"


@pytest.fixture
def gh(github_double):
    github_double.add_repo(HR)
    return make_github(github_double.token, github_double.base_url, for_tests=True)


def posts(double, suffix: str = "/issues") -> int:
    return sum(1 for r in double.requests if r.method == "POST" and r.path.endswith(suffix))


def test_create_assigns_labels_and_marks(gh, github_double):
    n = ensure_overdue_issue(gh, HR, 42, "hana", "Overdue SUP review:\nalice 2026-03-02",
                             "Please review SUP 42.")
    issue = github_double.repos[HR].issues[n]
    assert issue.assignees == ["hana"] and issue.labels == [LABEL]
    assert issue.title == "Overdue SUP review: alice 2026-03-02"
    assert marker(42) in issue.body and issue.body.startswith("Please review SUP 42.")


def test_repeated_calls_create_one_issue(gh, github_double):
    first = ensure_overdue_issue(gh, HR, 42, "hana", "Overdue", "b")
    other = ensure_overdue_issue(gh, HR, 43, "hana", "Overdue", "b")
    assert ensure_overdue_issue(gh, HR, 42, "hana", "Overdue", "b") == first
    assert other != first and posts(github_double) == 2


def test_crash_between_create_and_record(gh, github_double):
    """An earlier run created the issue and died before storing its number."""
    github_double.add_issue(HR, 1, "unrelated", "hana", datetime(2026, 3, 1, tzinfo=UTC),
                            labels=[LABEL], body=f"x {marker(4)}")  # sup-4, not sup-42
    orphan = github_double.add_issue(HR, 2, "Overdue", "mailsup-bot",
                                     datetime(2026, 3, 2, tzinfo=UTC), labels=[LABEL],
                                     assignees=["hana"], body=f"Please\n\n{marker(42)}\n")
    assert ensure_overdue_issue(gh, HR, 42, "hana", "Overdue", "Please") == orphan.number
    assert posts(github_double) == 0


def test_marker_found_beyond_first_page(gh, github_double):
    ensure_overdue_issue(gh, HR, 7, None, "Overdue", "b")
    for n in range(2, 160):
        github_double.add_issue(HR, n, "other", "x", datetime.now(UTC),
                                labels=[LABEL], body=marker(1000 + n))
    assert ensure_overdue_issue(gh, HR, 7, None, "Overdue", "b") == 1
    assert posts(github_double) == 1


def test_unassignable_hr_worker_still_gets_a_ticket(gh, github_double):
    github_double.add_repo(HR, collaborators=["someone-else"])
    n = ensure_overdue_issue(gh, HR, 42, "hana", "Overdue", "b")
    assert github_double.repos[HR].issues[n].assignees == []


def test_close_comments_once_and_closes(gh, github_double):
    n = ensure_overdue_issue(gh, HR, 42, "hana", "Overdue", "b")
    close_issue(gh, HR, n, "Reviewed by Hana.")
    close_issue(gh, HR, n, "Reviewed by Hana.")
    issue = github_double.repos[HR].issues[n]
    assert issue.closed_at is not None
    bodies = [c.body for c in github_double.repos[HR].comments]
    assert len(bodies) == 1 and bodies[0].startswith("Reviewed by Hana.")


def test_close_after_crash_between_comment_and_close(gh, github_double):
    n = ensure_overdue_issue(gh, HR, 42, "hana", "Overdue", "b")
    github_double.add_comment(HR, n, "mailsup-bot", datetime.now(UTC),
                              f"Reviewed.\n\n{CLOSE_MARKER}")
    close_issue(gh, HR, n, "Reviewed.")
    assert github_double.repos[HR].issues[n].closed_at is not None
    assert posts(github_double, "/comments") == 0


def test_short_secondary_limit_is_waited_out(gh, github_double, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(github_client, "sleep", waits.append)
    github_double.secondary_limit(retry_after=3, writes_only=True)
    n = ensure_overdue_issue(gh, HR, 42, "hana", "Overdue", "b")
    assert waits == [3.0] and len(github_double.repos[HR].issues) == 1 and n == 1


def test_long_secondary_limit_raises(gh, github_double, monkeypatch):
    monkeypatch.setattr(github_client, "sleep", pytest.fail)
    github_double.secondary_limit(retry_after=120, writes_only=True)
    with pytest.raises(HrTicketError, match="retry after 120s"):
        ensure_overdue_issue(gh, HR, 42, "hana", "Overdue", "b")
    # Nothing was created, and the next tick succeeds.
    assert ensure_overdue_issue(gh, HR, 42, "hana", "Overdue", "b") == 1


@pytest.mark.parametrize("mode", ["error", "refused"])
def test_github_down(gh, github_double, mode):
    github_double.set_down(mode)
    with pytest.raises(HrTicketError):
        ensure_overdue_issue(gh, HR, 42, "hana", "Overdue", "b")
    with pytest.raises(HrTicketError):
        close_issue(gh, HR, 1, "done")
