"""The one loop shape for stored mail: claim a row, run the pipeline in one
transaction, commit; on an exception quarantine the row with the reason and go on
(Mailman's runner and shunt queue).
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from datetime import datetime, timedelta
from pathlib import Path

from peewee import InterfaceError, OperationalError, fn

from mailsup.clock import utcnow_naive
from mailsup.config import Settings
from mailsup.database import is_busy, retry_busy
from mailsup.inbound import bounds, pipeline
from mailsup.inbound.ctx import Ctx
from mailsup.models import Effect, InboundMessage, Keys, db

log = logging.getLogger(__name__)

PROCESSING_LEASE = timedelta(minutes=10)


_SETTLED = [InboundMessage.status, InboundMessage.kind, InboundMessage.reasons,
            InboundMessage.sup, InboundMessage.processed_at]


def _save(ctx: Ctx) -> None:
    row = ctx.row
    row.status, row.kind, row.reasons = ctx.status, ctx.kind, ctx.reasons
    row.sup = ctx.sup_id
    row.processed_at = utcnow_naive(ctx.now)
    row.save(only=_SETTLED)  # not the raw message again
    if ctx.status == "applied":
        Effect.insert(key=Keys.applied(row.id), kind="applied", created_at=row.processed_at) \
            .on_conflict_ignore().execute()


def process(settings: Settings, row: InboundMessage, now: datetime,
            memo: dict | None = None) -> Ctx:
    """Run one stored message through the pipeline, waiting out a busy SQLite.

    Raises only when the database stays busy or unavailable: the row is then
    handed back ("new") for the next pass when that still works.
    ``memo``: the pass's shared cache (``Ctx.memo``), when several rows are processed.
    """
    try:
        return retry_busy(_process, settings, row, now, {} if memo is None else memo)
    except (OperationalError, InterfaceError):
        try:
            (InboundMessage.update(status="new")
             .where((InboundMessage.id == row.id)
                    & (InboundMessage.status == "processing")).execute())
        except (OperationalError, InterfaceError):
            pass  # the lease (or the next start) brings it back
        raise


def _process(settings: Settings, row: InboundMessage, now: datetime, memo: dict) -> Ctx:
    ctx = Ctx(settings, now, row, memo=memo)
    try:
        with db.atomic():
            pipeline.run(ctx)
            _save(ctx)
    except bounds.OverBudget as exc:  # rolled back: no effect, no answer of it remains
        ctx = Ctx(settings, now, InboundMessage.get_by_id(row.id))
        ctx.settle("quarantined", "too_costly", f"not finished: {exc}")
        _save(ctx)
    except Exception as exc:  # noqa: BLE001 - a bad message must not stop the loop
        if is_busy(exc) or isinstance(exc, InterfaceError):
            raise  # the database, not the message: never quarantine a reply for it
        log.exception("inbound %d quarantined", row.id)
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        ctx = Ctx(settings, now, InboundMessage.get_by_id(row.id))
        ctx.settle("quarantined", "error", f"internal error: {detail}; "
                   "fix and run `mailsup inbound retry`")
        _save(ctx)
    log.info("inbound %d: %s (%s) %s", row.id, ctx.status, ctx.kind, "; ".join(ctx.reasons))
    return ctx


def _started(pid: int) -> str | None:
    """A process's start time in clock ticks since boot (Linux), None if there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]  # field 22: starttime


def claim_owner() -> str:
    """This process, as no other process (alive or later) can be: host, pid, start time."""
    return f"{socket.gethostname()}:{os.getpid()}:{_started(os.getpid()) or ''}"


def _dead(owner: str) -> bool:
    """True only for a claim of this host whose process is certainly gone."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False  # another host's process: only its lease can tell
    if not Path("/proc/self/stat").exists():
        return False  # no /proc to ask: the lease decides
    started = _started(int(parts[1]))
    return started is None or (bool(parts[2]) and started != parts[2])  # gone, or pid reused


def reclaim_dead(now: datetime) -> int:
    """Rows left "processing" by a process that cannot be alive go back to "new" at once
    (``mailsup run`` on start, and every pass): no waiting for the 10-minute lease."""
    held = (InboundMessage.select(InboundMessage.id, InboundMessage.claimed_by)
            .where((InboundMessage.status == "processing")
                   & InboundMessage.claimed_by.is_null(False)))
    reclaimed = 0
    for row in held:
        if _dead(row.claimed_by):
            reclaimed += (InboundMessage.update(status="new", claimed_by=None)
                          .where((InboundMessage.id == row.id)
                                 & (InboundMessage.status == "processing")
                                 & (InboundMessage.claimed_by == row.claimed_by)).execute())
    if reclaimed:
        log.warning("reclaimed %d inbound message(s) left processing by a dead process",
                    reclaimed)
    return reclaimed


def reap_expired(now: datetime) -> int:
    """Rows a dead worker left ``processing`` past the lease: new again."""
    stamp = utcnow_naive(now)
    return (InboundMessage.update(status="new")
            .where((InboundMessage.status == "processing")
                   & (InboundMessage.processed_at < stamp - PROCESSING_LEASE)).execute())


CANDIDATES = 20
READ_AHEAD_BYTES = 512 * 1024


def claim_next(now: datetime, waiting: list[InboundMessage | int] | None = None,
               reap: bool = True) -> InboundMessage | None:
    """Take the oldest new row; the conditional update makes two workers safe.

    ``waiting``: rows loaded by an earlier call of the same pass (oldest first),
    so a pass reads its rows CANDIDATES at a time instead of once each.
    """
    if reap:
        reclaim_dead(now)
        reap_expired(now)
    waiting = [] if waiting is None else waiting
    for _ in range(2):
        while waiting:
            candidate = waiting.pop(0)
            if isinstance(candidate, int):  # a big one: read it only once it is ours
                row = claim_row(candidate, now)
            else:
                row = claim_row(candidate.id, now, candidate)
            if row is not None:
                return row
        waiting.extend(_candidates())
        if not waiting:
            return None
    return None


def _candidates() -> list[InboundMessage | int]:
    """The oldest new rows, read in one query where small (a reply is a few kB);
    a big message stays an id, so a batch never holds CANDIDATES × 10 MB."""
    sizes = list(InboundMessage.select(InboundMessage.id, fn.LENGTH(InboundMessage.raw))
                 .where(InboundMessage.status == "new").order_by(InboundMessage.id)
                 .limit(CANDIDATES).tuples())
    small = [i for i, size in sizes if (size or 0) <= READ_AHEAD_BYTES]
    loaded = {r.id: r for r in InboundMessage.select().where(InboundMessage.id.in_(small))} \
        if small else {}
    return [loaded.get(i, i) for i, _ in sizes]


def claim_row(row_id: int, now: datetime,
              loaded: InboundMessage | None = None) -> InboundMessage | None:
    """Claim one row; ``loaded``: the row as read just before, to spare reading it again."""
    stamp = utcnow_naive(now)
    owner = claim_owner()
    taken = (InboundMessage.update(status="processing", processed_at=stamp,
                                   claimed_by=owner)
             .where((InboundMessage.id == row_id) & (InboundMessage.status == "new")).execute())
    if taken != 1:
        return None
    if loaded is None:
        return InboundMessage.get_by_id(row_id)
    # Never claimed before: nothing this message caused can exist yet (ctx.first_run).
    loaded.first_run = loaded.processed_at is None
    loaded.status, loaded.processed_at, loaded.claimed_by = "processing", stamp, owner
    return loaded


def process_pending(settings: Settings, now: datetime, limit: int | None = None) -> list[Ctx]:
    """Process stored mail until none is left (the tick's "inbound" job)."""
    done: list[Ctx] = []
    waiting: list[InboundMessage | int] = []
    memo: dict = {}
    # Once per pass: a lease expires in minutes, a pass takes seconds; a dead
    # process's rows (kill -9) come back at once.
    retry_busy(reclaim_dead, now)
    retry_busy(reap_expired, now)
    while limit is None or len(done) < limit:
        row = retry_busy(claim_next, now, waiting, reap=False)
        if row is None:
            break
        done.append(process(settings, row, now, memo))
    return done


def retry(settings: Settings, row: InboundMessage, now: datetime) -> Ctx:
    """Run a stored message again (after a fix); answers already sent stay single."""
    return process(settings, row, now)
