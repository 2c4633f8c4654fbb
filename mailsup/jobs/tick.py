"""``tick(now)``: run every due job once as of ``now``, then flush the outbox.

Jobs are a tuple of named steps so later issues add theirs in one place. A
job that fails is logged and reported; the others still run, and the next tick
retries it, because every job finds its own unfinished work.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from peewee import DatabaseError, InterfaceError

from mailsup.clock import utc_now, utcnow_naive
from mailsup.config import Settings
from mailsup.database import retry_busy
from mailsup.inbound import runner
from mailsup.jobs import (
    create_sups,
    hr_digests,
    missed,
    nags,
    overdue_reviews,
    slack_nags,
    team_digests,
    weekly_summaries,
)
from mailsup.models import TickRun, db
from mailsup.outbound import sender

log = logging.getLogger(__name__)

Job = Callable[[Settings, datetime], list]

# In the order a morning needs them. The keys are the jobs' module names, except
# where ``tick --json`` already promised another name to scripts ("inbound" is
# inbound/runner.py, "slack" is slack_nags.py).
JOBS: tuple[tuple[str, Job], ...] = (
    ("inbound", runner.process_pending),
    ("create_sups", create_sups.create_due_sups),
    ("missed", missed.mark_missed),  # before the digests that say who missed
    ("nags", nags.send_nags),
    ("team_digests", team_digests.send_team_digests),
    ("hr_digests", hr_digests.send_hr_digests),
    ("weekly_summaries", weekly_summaries.send_weekly_summaries),
    ("slack", slack_nags.slack_followups),
    ("overdue_reviews", overdue_reviews.overdue_reviews),
)


@dataclass
class TickReport:
    now: datetime
    done: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"now": self.now.isoformat(), "jobs": self.done, "errors": self.errors,
                "sent": self.sent, "retrying": self.retrying, "failed": self.failed}


def tick(settings: Settings, now: datetime, *, send: bool = True,
         progress: Callable[[str], None] | None = None) -> TickReport:
    """``progress`` (the CLI's, on a terminal) hears each job's name as it starts, "" at the end."""
    report, started, clock = TickReport(now), utc_now(), time.monotonic()
    for name, job in JOBS:
        if progress:
            progress(name)
        try:
            report.done[name] = len(retry_busy(job, settings, now) or [])
        except Exception as exc:  # noqa: BLE001 - one broken job must not stop the day
            _failed(report, name, exc)
    if send:
        if progress:
            progress("sending")
        try:
            flushed = retry_busy(sender.flush, settings, now)
        except Exception as exc:  # noqa: BLE001 - rows stay pending for the next tick
            _failed(report, "send", exc)
        else:
            report.sent, report.retrying, report.failed = (
                len(flushed.sent), len(flushed.retrying), len(flushed.failed))
    report.seconds = time.monotonic() - clock
    if progress:
        progress("")
    _record(report, started)
    return report


def _record(report: TickReport, started: datetime) -> None:
    """What the operator page shows as the last ticks; losing one record stops nothing."""
    try:
        TickRun.create(now=utcnow_naive(report.now), started_at=utcnow_naive(started),
                       duration_ms=round(report.seconds * 1000), jobs=report.done,
                       errors=report.errors, sent=report.sent, failed=report.failed)
    except (DatabaseError, InterfaceError) as exc:
        log.warning("tick not recorded: %s", exc)
        _close_quietly()


def _failed(report: TickReport, name: str, exc: Exception) -> None:
    first = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, DatabaseError | InterfaceError):
        log.info("job %s failed: %s", name, first)  # the database, not a bug: the report says it
    else:
        log.exception("job %s failed", name)
    report.errors[name] = f"{type(exc).__name__}: {first}"
    if isinstance(exc, DatabaseError | InterfaceError):
        # A dropped connection stays dead in peewee until closed: close it so
        # the next job reconnects instead of failing the same way.
        _close_quietly()


def _close_quietly() -> None:
    try:
        db.close()
    except Exception:  # noqa: BLE001 - it is already gone
        pass
