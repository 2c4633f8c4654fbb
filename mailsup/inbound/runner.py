"""The one loop shape for stored mail: claim a row (a batch of rows in one
statement), run the pipeline for each in its own transaction, commit; on an
exception quarantine that row with the reason and go on (Mailman's runner and
shunt queue).
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import sqlite3
import traceback
from datetime import datetime, timedelta
from pathlib import Path

from peewee import Case, InterfaceError, OperationalError, SqliteDatabase, fn

from mailsup.clock import utcnow_naive
from mailsup.config import Settings
from mailsup.database import is_busy, retry_busy
from mailsup.inbound import bounds, pipeline
from mailsup.inbound.ctx import Ctx
from mailsup.models import Effect, InboundMessage, Keys, db
from mailsup.prepared import Prepared

log = logging.getLogger(__name__)

PROCESSING_LEASE = timedelta(minutes=10)


# Two statements per message, built once (``Prepared``): the outcome, not the raw
# message again; and, once applied, the effect that ``retry --force`` looks for.
_SETTLE = Prepared(lambda status, kind, reasons, sup, at, row_id: (
    InboundMessage.update({InboundMessage.status: status, InboundMessage.kind: kind,
                           InboundMessage.reasons: reasons, InboundMessage.sup: sup,
                           InboundMessage.processed_at: at})
    .where(InboundMessage.id == row_id)), arity=6)
_APPLIED = Prepared(lambda key, at: Effect.insert(key=key, kind="applied", created_at=at)
                    .on_conflict_ignore(), arity=2)


def _save(ctx: Ctx) -> None:
    row = ctx.row
    row.status, row.kind, row.reasons = ctx.status, ctx.kind, ctx.reasons
    row.sup = ctx.sup_id
    row.processed_at = utcnow_naive(ctx.now)
    _SETTLE.execute(row.status, row.kind, InboundMessage.reasons.db_value(row.reasons),
                    row.sup_id, row.processed_at, row.id)
    if ctx.status == "applied":
        _APPLIED.execute(Keys.applied(row.id), row.processed_at)


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


def claim_batch(now: datetime, most: int | None = None) -> list[InboundMessage]:
    """Claim the oldest new rows, in id order: the small ones of the next CANDIDATES in
    one statement, or one big message alone (read only once it is ours).

    The conditional update (``status = 'new'``) makes two workers safe: a row goes to
    whoever's update changes it. ``most``: claim no more than that many.
    """
    for _ in range(3):  # rows another worker took meanwhile: look again, not forever
        candidates = _candidates(CANDIDATES if most is None else min(most, CANDIDATES))
        if not candidates:
            return []
        if isinstance(candidates[0], int):  # a big one: alone, so a batch stays small
            row = claim_row(candidates[0], now)
            claimed = [row] if row is not None else []
        else:
            small = list(itertools.takewhile(lambda c: not isinstance(c, int), candidates))
            claimed = claim_rows(small, now)
        if claimed:
            return claimed
    return []


def _candidates(count: int) -> list[InboundMessage | int]:
    """The oldest new rows in one query, each with its raw message where small (a reply
    is a few kB); a big message stays an id, so a batch never holds CANDIDATES × 10 MB."""
    raw, size = InboundMessage.raw, fn.LENGTH(InboundMessage.raw)
    fields = [f for f in InboundMessage._meta.sorted_fields if f is not raw]
    rows = (InboundMessage.select(*fields, Case(None, [(size <= READ_AHEAD_BYTES, raw)], None)
                                  .alias("raw"), size.alias("raw_size"))
            .where(InboundMessage.status == "new").order_by(InboundMessage.id).limit(count))
    return [row if (row.raw_size or 0) <= READ_AHEAD_BYTES else row.id for row in rows]


def _returning() -> bool:
    """UPDATE … RETURNING: PostgreSQL, and SQLite from 3.35."""
    return not isinstance(db.obj, SqliteDatabase) or sqlite3.sqlite_version_info >= (3, 35)


def claim_rows(rows: list[InboundMessage], now: datetime) -> list[InboundMessage]:
    """Claim rows just read, in one statement where the database can say which it changed;
    those another worker took first are left out."""
    if not _returning():
        return [row for row in (claim_row(r.id, now, r) for r in rows) if row is not None]
    stamp, owner = utcnow_naive(now), claim_owner()
    taken = {r.id for r in (InboundMessage.update(status="processing", processed_at=stamp,
                                                  claimed_by=owner)
                            .where(InboundMessage.id.in_([r.id for r in rows])
                                   & (InboundMessage.status == "new"))
                            .returning(InboundMessage.id).execute())}
    return [_claimed(r, stamp, owner) for r in rows if r.id in taken]


def _claimed(loaded: InboundMessage, stamp: datetime, owner: str) -> InboundMessage:
    # Never claimed before: nothing this message caused can exist yet (ctx.first_run).
    loaded.first_run = loaded.processed_at is None
    loaded.status, loaded.processed_at, loaded.claimed_by = "processing", stamp, owner
    return loaded


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
    return _claimed(loaded, stamp, owner)


def release(rows: list[InboundMessage]) -> None:
    """Claimed rows a pass did not get to (it stopped on a database error): new again
    now, not after the lease; if even this fails, the lease (or the next start) does it."""
    if not rows:
        return
    try:
        (InboundMessage.update(status="new", claimed_by=None)
         .where(InboundMessage.id.in_([r.id for r in rows])
                & (InboundMessage.status == "processing")
                & (InboundMessage.claimed_by == rows[0].claimed_by)).execute())
    except (OperationalError, InterfaceError):
        pass


def process_pending(settings: Settings, now: datetime, limit: int | None = None) -> list[Ctx]:
    """Process stored mail until none is left (the tick's "inbound" job).

    Rows are claimed a batch at a time (one statement) and each is still processed in
    its own transaction: a reply that fails is quarantined alone, and a pass that stops
    on a database error hands the rest of its batch back.
    """
    done: list[Ctx] = []
    memo: dict = {}
    # Once per pass: a lease expires in minutes, a pass takes seconds; a dead
    # process's rows (kill -9) come back at once.
    retry_busy(reclaim_dead, now)
    retry_busy(reap_expired, now)
    claimed: list[InboundMessage] = []
    try:
        while limit is None or len(done) < limit:
            if not claimed:
                claimed = retry_busy(claim_batch, now,
                                     None if limit is None else limit - len(done))
                if not claimed:
                    break
            done.append(process(settings, claimed.pop(0), now, memo))
    finally:
        release(claimed)
    return done


def retry(settings: Settings, row: InboundMessage, now: datetime) -> Ctx:
    """Run a stored message again (after a fix); answers already sent stay single."""
    return process(settings, row, now)
