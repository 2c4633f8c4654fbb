"""Send outbox rows: claim, send over SMTP (or to a folder), record the result.

A row is claimed by marking it ``sending`` with a lease and committing before
any SMTP happens, so no database lock is held across the network and two
workers never send the same row. A lease that expires (the worker died) puts
the row back to ``pending``. Temporary failures retry with backoff until
``give_up_hours``; permanent (5xx) failures are recorded and not retried.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import aiosmtplib

from mailsup.clock import utcnow_naive
from mailsup.config import Settings, Smtp, private_dir, write_private
from mailsup.database import is_sqlite
from mailsup.models import OutboundMessage, db
from mailsup.prepared import Prepared
from mailsup.tokens import reply_address, sign

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
BATCH = 20  # x the default 30 s SMTP timeout = the 10-minute lease
# How long a relay's "too many connections" is believed. The service flushes
# every few seconds; relearning the limit each time would knock on the relay
# with connections it already said no to (and some relays count those against
# the client). After this the pool tries to grow past it again, as the relay's
# limit may have been raised or the refusal was a passing overload.
LIMIT_REMEMBERED = timedelta(hours=1)


@dataclass
class FlushReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    connections: int = 0  # the most SMTP connections open at once (the pool's growth)


@dataclass
class Outcome:
    ok: bool
    permanent: bool = False
    error: str = ""
    # The relay turned the connection away (no connect, or 4xx to MAIL): nothing
    # about this mail; with another connection open it is sent there instead.
    refused: bool = False


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes, capped at one hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def reap_expired_leases(now: datetime) -> int:
    stamp = utcnow_naive(now)
    return (OutboundMessage.update(status="pending", lease_until=None)
            .where((OutboundMessage.status == "sending") & (OutboundMessage.lease_until < stamp))
            .execute())


def lease_for(batch: int, timeout: float) -> timedelta:
    """Long enough for the whole batch at the worst per-mail timeout.

    A lease shorter than the work it protects lets a second worker reclaim
    rows this one is still sending, and send them again.
    """
    return max(LEASE, timedelta(seconds=batch * timeout))


def claim(now: datetime, limit: int = BATCH, lease_length: timedelta = LEASE
          ) -> list[OutboundMessage]:
    """Take up to ``limit`` due rows for this worker and commit the claim."""
    stamp = utcnow_naive(now)
    due = ((OutboundMessage.status == "pending") & (OutboundMessage.next_attempt_at <= stamp))
    lease = stamp + lease_length
    if is_sqlite():
        # IMMEDIATE takes the write lock up front: select-then-update is atomic.
        with db.obj.atomic("IMMEDIATE"):
            ids = [r.id for r in OutboundMessage.select(OutboundMessage.id).where(due)
                   .order_by(OutboundMessage.id).limit(limit)]
            _mark_sending(ids, lease)
    else:
        with db.atomic():
            ids = [r.id for r in OutboundMessage.select(OutboundMessage.id).where(due)
                   .order_by(OutboundMessage.id).limit(limit).for_update(skip_locked=True)]
            _mark_sending(ids, lease)
    if not ids:
        return []
    return list(OutboundMessage.select().where(OutboundMessage.id.in_(ids))
                .order_by(OutboundMessage.id))


def _mark_sending(ids: list[int], lease: datetime) -> None:
    if ids:
        (OutboundMessage.update(status="sending", lease_until=lease)
         .where(OutboundMessage.id.in_(ids)).execute())


def envelope_sender(settings: Settings, row: OutboundMessage) -> str:
    # Per-message envelope sender: a bounce names the exact mail that failed.
    # Signed, so nobody can claim that our mail bounced without having it.
    return reply_address(settings.reply_address, sign(settings.secret, "b", row.id,
                                                     row.created_at))


def write_to_folder(folder: Path, rows: list[OutboundMessage],
                    record: Recorder) -> dict[int, Outcome]:
    private_dir(folder)
    outcomes = {}
    for row in rows:
        path = folder / f"{row.id:08d}-{row.kind}.eml"
        tmp = path.with_suffix(".tmp")
        write_private(tmp, bytes(row.raw))  # HR digests: not for every user of the host
        tmp.replace(path)  # atomic: a reader never sees half a message
        outcomes[row.id] = Outcome(True)
        record(row, outcomes[row.id])
    return outcomes


def _smtp_client(cfg: Smtp) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=cfg.host, port=cfg.port, timeout=cfg.timeout,
        use_tls=cfg.security == "tls",
        start_tls=True if cfg.security == "starttls" else False,
        username=cfg.username or None, password=cfg.password or None,
    )


def _classify(exc: Exception) -> Outcome:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [e.code for e in exc.recipients]
        return Outcome(False, permanent=all(c >= 500 for c in codes), error=str(exc))
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return Outcome(False, permanent=exc.code >= 500, error=f"{exc.code} {exc.message}")
    return Outcome(False, error=f"{type(exc).__name__}: {exc}")


Recorder = Callable[[OutboundMessage, Outcome], None]


def wire_size(message: bytes) -> int:
    """Octets of ``message`` as DATA sends it (CRLF line ends, a final CRLF): RFC 1870's SIZE."""
    if b"\r" in message:  # a CR of its own: let aiosmtplib's own rule count it
        return len(aiosmtplib.protocol.normalize_message_line_endings(message))
    return len(message) + message.count(b"\n") + (0 if message.endswith(b"\n") else 2)


async def transaction(client: aiosmtplib.SMTP, sender: str, recipients: list[str],
                      message: bytes, on_mail: Callable[[], None] | None = None) -> None:
    """``client.sendmail``'s transaction: MAIL (with SIZE), RCPT for each, DATA, RSET
    after a refusal; refused by all recipients raises ``SMTPRecipientsRefused``.

    Its own steps, because ``sendmail`` parses every address twice and rewrites
    the whole message once more only to count it for SIZE; on the loopback sink
    that was a fifth of the CPU per mail. ``mail``/``rcpt``/``data`` still quote,
    check and dot-stuff as before. ``on_mail`` is called once the relay took MAIL.
    """
    options = [f"SIZE={wire_size(message)}"] if client.supports_extension("size") else []
    try:
        await client.mail(sender, options=options)
        if on_mail is not None:
            on_mail()
        refused = []
        for recipient in recipients:
            try:
                await client.rcpt(recipient)
            except aiosmtplib.SMTPRecipientRefused as exc:
                refused.append(exc)
        if len(refused) == len(recipients):
            raise aiosmtplib.SMTPRecipientsRefused(refused)
        await client.data(message)
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused, ValueError):
        # ValueError: an address aiosmtplib will not put on a command line, found
        # after MAIL was sent (sendmail checks them all first, at twice the cost).
        try:  # leave the connection ready for the next mail, as sendmail does
            await client.rset()
        except (ConnectionError, aiosmtplib.SMTPResponseException):
            pass
        raise


class Relay:
    """One SMTP connection, opened on first use and kept for every mail it is given.

    Each row is recorded (``Pool``) the moment the relay answers for it, so a
    crash can re-send at most the mails in flight, not every mail the relay
    already accepted.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.client: aiosmtplib.SMTP | None = None

    async def connect(self) -> Outcome | None:
        """Open the connection (greeting, EHLO, STARTTLS, login); None once it is open,
        else the failure, ``refused``: no mail was tried."""
        if self.client is not None:
            return None
        client = _smtp_client(self.settings.smtp)
        try:
            # Short: a relay port speaking another protocol (or a black hole)
            # costs connect_timeout, not the per-command timeout, per tick.
            await client.connect(timeout=self.settings.smtp.connect_timeout)
        except Exception as exc:  # noqa: BLE001 - any connect failure is temporary
            return Outcome(False, error=f"cannot reach relay: {exc}", refused=True)
        self.client = client
        return None

    async def send_one(self, row: OutboundMessage,
                       on_mail: Callable[[], None] | None = None) -> Outcome:
        """Send one row; a relay that cannot be reached or hangs up fails it softly."""
        if (failure := await self.connect()) is not None:
            return failure
        try:
            await transaction(self.client, envelope_sender(self.settings, row),
                              list(row.recipients), bytes(row.raw), on_mail)
            return Outcome(True)
        except aiosmtplib.SMTPServerDisconnected as exc:
            await self.close()
            return _classify(exc)
        except aiosmtplib.SMTPSenderRefused as exc:
            outcome = _classify(exc)
            if 400 <= exc.code < 500:  # "421 too busy", "451 try later": this connection
                await self.close()     # is turned away, the mail itself was not judged
                outcome.refused = True
            return outcome
        except Exception as exc:  # noqa: BLE001 - recorded on the row, never raised
            return _classify(exc)

    @property
    def open(self) -> bool:
        return self.client is not None

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            await client.quit()
        except Exception:  # noqa: BLE001 - the relay hung up; the outcomes stand
            client.close()


def _record(settings: Settings, row: OutboundMessage, outcome: Outcome, now: datetime,
            report: FlushReport) -> None:
    stamp = utcnow_naive(now)
    if outcome.ok:
        row.status, row.sent_at, row.lease_until = "sent", stamp, None
        report.sent.append(row.id)
    else:
        row.attempts += 1
        row.last_error = outcome.error[:2000]
        deadline = row.created_at + timedelta(hours=settings.smtp.give_up_hours)
        if outcome.permanent or stamp >= deadline:
            row.status, row.lease_until = "failed", None
            report.failed.append(row.id)
            log.error("gave up on %s (%s): %s", row.message_id, row.kind, outcome.error)
        else:
            row.status, row.lease_until = "pending", None
            row.next_attempt_at = stamp + backoff(row.attempts)
            report.retrying.append(row.id)
            log.warning("will retry %s at %s: %s", row.message_id, row.next_attempt_at,
                        outcome.error)
    # Only what changed: rewriting the stored message (``raw``) per mail is most
    # of what recording would cost.
    row.save(only=_RECORDED)


_RECORDED = [OutboundMessage.status, OutboundMessage.sent_at, OutboundMessage.lease_until,
             OutboundMessage.attempts, OutboundMessage.last_error,
             OutboundMessage.next_attempt_at]


def mark_sent(ids: list[int], stamp: datetime) -> None:
    """The rows as sent, in one transaction, with one UPDATE shape for all of them.

    What ``_record`` writes for an accepted mail, without peewee compiling a query
    tree per row: against a near relay that compiling cost more CPU than sending.
    """
    value = OutboundMessage.sent_at.db_value(stamp)
    with db.atomic():
        _MARK_SENT.execute_many([(value, i) for i in ids])


_MARK_SENT = Prepared(lambda sent_at, row_id: OutboundMessage.update(
    status="sent", sent_at=sent_at, lease_until=None).where(OutboundMessage.id == row_id),
    arity=2)


class Ledger:
    """Records each row as the relay answers for it.

    A failure is saved at once. A 250 only marks the row and schedules the commit
    with ``call_soon``: it runs before the event loop next waits on the network,
    after the other connections whose replies came in the same turn have added
    theirs, so the replies of one turn share one transaction. The at-least-once
    window stays what it was, one mail per open connection (a kill between a
    250 and its commit). A commit that fails (the database went away) is kept
    in ``error``: the pool stops taking rows and ``flush`` raises it; those rows
    stay ``sending`` and their lease brings them back.
    """

    def __init__(self, settings: Settings, now: datetime, report: FlushReport):
        self.settings, self.now, self.report = settings, now, report
        self.stamp = utcnow_naive(now)
        self.accepted: list[int] = []
        self.error: Exception | None = None

    def record(self, row: OutboundMessage, outcome: Outcome) -> None:
        if not outcome.ok:
            _record(self.settings, row, outcome, self.now, self.report)
            return
        row.status, row.sent_at, row.lease_until = "sent", self.stamp, None
        if not self.accepted:
            asyncio.get_running_loop().call_soon(self.commit)
        self.accepted.append(row.id)

    def commit(self) -> None:
        ids, self.accepted = self.accepted, []
        if not ids:
            return
        try:
            mark_sent(ids, self.stamp)
        except Exception as exc:  # noqa: BLE001 - raised by flush once the pool stopped
            self.error = self.error or exc
            return
        self.report.sent.extend(ids)


def flush(settings: Settings, now: datetime, limit: int | None = None) -> FlushReport:
    """Send every due row; returns what happened. Never raises for a relay problem."""
    report = FlushReport()
    with commits_not_awaited():
        reap_expired_leases(now)
        if settings.smtp.host:
            asyncio.run(_flush_batches(settings, now, limit, report))
        else:
            _folder_batches(settings, now, limit, report)
    return report


@contextmanager
def commits_not_awaited():
    """PostgreSQL: this connection's commits do not wait for their WAL flush while
    flushing (SQLite in WAL mode with synchronous=normal already does not fsync).

    A flush commits once per mail (the row is recorded as the relay accepts it),
    and waiting for the disk each time made PostgreSQL's fsync the limit of
    sending. Not waiting is safe against mailsup dying (the server has the
    commit); only a crash of the database server itself could forget the last
    fraction of a second of claims and "sent" marks, and those mails would go out
    once more: at-least-once, as the relay's 250-to-commit window already is.
    """
    if is_sqlite():
        yield
        return
    db.obj.execute_sql("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        try:
            db.obj.execute_sql("RESET synchronous_commit")
        except Exception:  # noqa: BLE001 - a dead connection resets itself
            log.debug("could not reset synchronous_commit", exc_info=True)


def _batches(settings: Settings, now: datetime, limit: int | None):
    """Claim small batches (the lease covers one batch) until nothing is due."""
    remaining = limit
    while remaining is None or remaining > 0:
        size = BATCH if remaining is None else min(BATCH, remaining)
        rows = claim(now, size, lease_for(size, settings.smtp.timeout))
        if not rows:
            return
        yield rows
        if remaining is not None:
            remaining -= len(rows)


class RelayLimits:
    """The connection limits relays have shown this process, by (host, port).

    Only in memory: a new process starts from ``[smtp] connections`` and learns
    again with its first refusal, which costs one or two turned-away connections.
    """

    def __init__(self):
        self._limits: dict[tuple[str, int], tuple[int, datetime]] = {}

    def cap(self, smtp: Smtp, now: datetime, default: int) -> int:
        now = utcnow_naive(now)  # callers pass aware instants, tests may pass naive ones
        limit, until = self._limits.get((smtp.host, smtp.port), (default, now))
        return min(default, limit) if now < until else default

    def learn(self, smtp: Smtp, now: datetime, limit: int) -> None:
        self._limits[(smtp.host, smtp.port)] = (limit, utcnow_naive(now) + LIMIT_REMEMBERED)

    def forget(self) -> None:
        """Every limit (a test's relay ports are reused by later tests)."""
        self._limits.clear()


relay_limits = RelayLimits()


class Pool:
    """Relays drawing rows from one queue of claimed batches.

    A relay far away answers each SMTP command after a round trip, so one
    connection spends most of its time waiting; several connections wait at
    the same time. Claims stay small batches (the lease covers one batch); a
    connection that finds the queue empty claims the next batch, which is safe
    without a lock because claiming never awaits.

    How many: Postfix's feedback, at no more than TCP slow start's pace. A flush
    starts ``[smtp] connections``; while rows are still waiting, each new
    connection on which the relay takes a first MAIL opens seven more, and each
    mail it accepts one more, up to ``max_connections``. A connection proves
    itself after five round trips (greeting, EHLO, STARTTLS, EHLO, MAIL), so
    eight times per set-up is gentler than TCP's doubling per round trip; any
    slower and a flush of a hundred mails to a relay 25 ms away is mostly over
    before the pool is worth having (measured: ``benchmarks/relay_bench.py``).
    Growth also waits while this process is on the CPU half the time or more
    (``busy``): a near relay is not worth more connections. A
    connection the relay turns away (no connect, 4xx to MAIL) while others live
    (open or still connecting) hands its row back to the queue untouched (no
    attempt counted) for them, closes, and caps the pool at those others; later
    flushes of this process start with that cap (``RelayLimits``). Turned
    away with none left is the relay being down: as any other temporary
    failure it is recorded on the row and stops every connection after its mail
    in flight; rows claimed but not yet tried go back to ``pending`` untouched.
    """

    def __init__(self, settings: Settings, now: datetime, limit: int | None,
                 ledger: Ledger):
        self.settings, self.now, self.ledger = settings, now, ledger
        self.remaining = limit
        self.queue: deque[OutboundMessage] = deque()
        self.stopped = False
        self.more_due = True  # the last claim was full: rows may still be waiting
        self.cap = relay_limits.cap(
            settings.smtp, now, max(settings.smtp.max_connections, settings.smtp.connections))
        self.tasks: set[asyncio.Task] = set()
        self.alive = 0  # connections not ended yet: a task's end is seen a turn later
        self.open = 0  # connections past the greeting, EHLO (and STARTTLS)
        self.peak = 0
        self.started = (time.perf_counter(), time.process_time())
        self.error: Exception | None = None

    def next_row(self) -> OutboundMessage | None:
        if self.stopped or self.ledger.error is not None:
            return None
        if not self.queue and self.more_due and (self.remaining is None or self.remaining > 0):
            size = BATCH if self.remaining is None else min(BATCH, self.remaining)
            rows = claim(self.now, size, lease_for(size, self.settings.smtp.timeout))
            self.more_due = len(rows) == size
            if self.remaining is not None:
                self.remaining -= len(rows)
            self.queue.extend(rows)
        return self.queue.popleft() if self.queue else None

    def waiting(self) -> bool:
        """Rows no connection has taken yet (claimed, or maybe still due)."""
        return bool(self.queue) or (self.more_due and
                                    (self.remaining is None or self.remaining > 0))

    def grow(self, more: int) -> None:
        """Open up to ``more`` connections while rows wait and the CPU does not."""
        if self.busy():
            return
        for _ in range(more):
            if self.alive >= self.cap or not self.waiting() or self.stopped:
                return
            self.spawn()

    def busy(self) -> bool:
        """Whether this process spent at least half of the flush so far on the CPU.

        More connections only hide the relay's round trips. Against a relay 25 ms
        away a mail waits ~100 ms for ~0.5 ms of CPU and the cap decides; against
        a relay on this machine (the tests' and benchmarks' sink even shares this
        process) the CPU is what a mail costs, and a new connection would be
        set-up work and nothing gained. Every latency seen from inside the event
        loop grows with the connections it serves, so the CPU share is the
        signal. Unknown for the first 10 ms: a near relay is not grown to at once.
        """
        wall = time.perf_counter() - self.started[0]
        if wall < 0.01:
            return True
        return (time.process_time() - self.started[1]) / wall >= 0.5

    def spawn(self) -> None:
        task = asyncio.get_running_loop().create_task(self.connection())
        self.alive += 1
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _opened(self, change: int) -> None:
        self.open += change
        self.peak = max(self.peak, self.open)

    async def connection(self) -> None:
        relay = Relay(self.settings)
        try:
            while (row := self.next_row()) is not None:
                outcome, on_mail = None, None
                if not relay.open:
                    outcome = await relay.connect()
                    if outcome is None:
                        self._opened(1)
                        # The relay took one more connection; once it takes a MAIL on
                        # it too (a relay may refuse there), seven more open.
                        on_mail = partial(self.grow, 7)
                    elif self.hand_back(row, outcome):
                        return
                if outcome is None:
                    outcome = await relay.send_one(row, on_mail)
                    if not relay.open:  # it hung up, or turned us away at MAIL
                        self._opened(-1)
                        if outcome.refused and self.hand_back(row, outcome):
                            return
                self.ledger.record(row, outcome)
                if outcome.ok:
                    self.grow(1)  # ... and one more mail
                elif not outcome.permanent:
                    self.stopped = True  # the relay is struggling; the next tick tries again
        except Exception as exc:  # noqa: BLE001 - raised by run once every connection ended
            self.error = self.error or exc
            self.stopped = True
        finally:
            self.alive -= 1
            if relay.open:
                self._opened(-1)
            await relay.close()

    def hand_back(self, row: OutboundMessage, refusal: Outcome) -> bool:
        """A refused connection with others in the pool: its row goes back to the
        queue untouched, and the pool stays at the others. False: it was the last."""
        others = self.alive - 1  # open, or still connecting
        if not others:
            return False
        self.queue.appendleft(row)
        self.cap = min(self.cap, others)
        relay_limits.learn(self.settings.smtp, self.now, self.cap)
        log.info("relay refused a connection (%s); staying at %d", refusal.error, others)
        return True

    async def run(self) -> int:
        """Send until nothing is due (or the relay struggles); the most connections open."""
        try:
            for _ in range(min(self.settings.smtp.connections, self.cap)):
                self.spawn()
            while self.tasks:  # connections spawned meanwhile join the wait
                await asyncio.wait(set(self.tasks))
        finally:
            self.ledger.commit()
            release([row.id for row in self.queue])
            self.queue.clear()
        error = self.error or self.ledger.error
        if error is not None:
            raise error
        return self.peak


def release(ids: list[int]) -> None:
    """Claimed rows that were never tried: back to pending at once, as they were."""
    if ids:
        (OutboundMessage.update(status="pending", lease_until=None)
         .where((OutboundMessage.id.in_(ids)) & (OutboundMessage.status == "sending"))
         .execute())


async def _flush_batches(settings: Settings, now: datetime, limit: int | None,
                         report: FlushReport) -> None:
    pool = Pool(settings, now, limit, Ledger(settings, now, report))
    try:
        await pool.run()
    finally:
        report.connections = pool.peak


def _folder_batches(settings: Settings, now: datetime, limit: int | None,
                    report: FlushReport) -> None:
    def record(row: OutboundMessage, outcome: Outcome) -> None:
        _record(settings, row, outcome, now, report)

    for rows in _batches(settings, now, limit):
        write_to_folder(settings.smtp.outbox_dir, rows, record)
