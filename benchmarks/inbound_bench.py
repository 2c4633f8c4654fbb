"""Inbound throughput: real replies to real SUP mails through the whole pipeline on SQLite.

Usage: ``python benchmarks/inbound_bench.py [--quick]`` prints the JSON of :func:`run`.

An untimed tick creates N SUPs and queues their request mails. Each developer
answers their own mail the way a mail client does (``Re:`` subject, threading
headers, short answer lines on top, the whole request quoted below). Timed:
``store_raw`` of every reply (what a door does before it acknowledges), then
``runner.process_pending`` (parse → dedupe → classify → authenticate → parse
the reply → apply to the SUP → queue the receipt). Every reply must end applied
as a ``sup_reply`` with its receipt in the outbox, or the run fails.
``inbound_queries_per_reply``: the SQL statements SQLite ran during the timed
processing (its trace hook; BEGIN/COMMIT/SAVEPOINT not counted) per reply.
Everything the pass ran is counted, its own statements too (reclaim and reap,
the client and its repositories: 4 per pass; reading and claiming a batch: 2 per
20 replies), so the figure is the same at any size from a few batches up
(7.12 for 200 replies, 7.1 for 1,000; before issue 15's inbound part, 13.12 and 13.1).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.tick_bench import NOW, populate, workspace  # noqa: E402
from mailsup.inbound import runner  # noqa: E402
from mailsup.inbound.store import store_raw  # noqa: E402
from mailsup.jobs.tick import tick  # noqa: E402
from mailsup.models import InboundMessage, OutboundMessage, Person, Sup, db  # noqa: E402
from mailsup.testing.replies import make_reply  # noqa: E402

REPLY_AT = NOW + timedelta(minutes=30)
PLANS = ("ship the login fix", "review the billing PR\npair with the platform team",
         "write the migration for the audit log")
SCHEDULING = ("full day", "part day", "")


def answer(k: int) -> str:
    """The k-th reply's answer lines (plans and scheduling values in turn)."""
    text = f"plan: {PLANS[k % len(PLANS)]}"
    if SCHEDULING[k % len(SCHEDULING)]:
        text += f"\nscheduling: {SCHEDULING[k % len(SCHEDULING)]}"
    return text


def build_replies() -> list[tuple[str, list[str], bytes]]:
    """One reply per queued SUP request: (envelope sender, envelope recipients, bytes)."""
    names = {p.email: p.name for p in Person.select()}
    replies = []
    rows = (OutboundMessage.select().where(OutboundMessage.kind == "sup_request")
            .order_by(OutboundMessage.id))
    for k, row in enumerate(rows):
        original = message_from_bytes(bytes(row.raw), policy=policy.default)
        email = row.recipients[0]
        raw = make_reply(original, answer(k), sender=f"{names[email]} <{email}>", date=REPLY_AT)
        replies.append((email, [str(original["Reply-To"].addresses[0].addr_spec)], raw))
    return replies


def store_all(replies: list[tuple[str, list[str], bytes]]) -> float:
    """Seconds to commit every raw reply, as the SMTP door does before its 250."""
    start = time.perf_counter()
    for mail_from, rcpt, raw in replies:
        store_raw(raw, "smtp", REPLY_AT, envelope_from=mail_from, envelope_to=rcpt)
    return time.perf_counter() - start


def verify(count: int) -> None:
    """Every reply applied to its SUP, and a receipt queued for each."""
    applied = (InboundMessage.select().where((InboundMessage.status == "applied")
                                             & (InboundMessage.kind == "sup_reply")).count())
    submitted = Sup.select().where(Sup.status == "submitted").count()
    receipts = OutboundMessage.select().where(OutboundMessage.kind == "receipt").count()
    if not applied == submitted == receipts == count:
        sample = InboundMessage.select().where(InboundMessage.status != "applied").first()
        why = f"; e.g. {sample.status} {sample.kind}: {sample.reasons}" if sample else ""
        raise AssertionError(f"applied {applied}, submitted {submitted}, receipts {receipts}, "
                             f"expected {count}{why}")


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    """Every SQL statement SQLite runs meanwhile, less transaction control (BEGIN,
    COMMIT, SAVEPOINT …): SQLite's own trace hook, so no query escapes the count."""
    seen: list[str] = []

    def trace(sql: str) -> None:
        if not sql.lstrip().upper().startswith(TRANSACTION_CONTROL):
            seen.append(sql)

    connection = db.obj.connection()
    connection.set_trace_callback(trace)
    try:
        yield seen
    finally:
        connection.set_trace_callback(None)


def run(quick: bool, scale: float = 1.0) -> dict[str, Any]:
    """``scale`` < 1 shrinks the number of replies (the smoke test)."""
    count = max(5, int((200 if quick else 1000) * scale))
    with workspace() as ws:
        populate(count)
        tick(ws.settings, NOW, send=False)  # untimed: the SUPs and their request mails
        replies = build_replies()
        store_s = store_all(replies)
        with counting_statements() as statements:
            start = time.perf_counter()
            done = runner.process_pending(ws.settings, REPLY_AT)
            process_s = time.perf_counter() - start
        if len(done) != count:
            raise AssertionError(f"processed {len(done)} of {count}")
        verify(count)
        mean_bytes = sum(len(r[2]) for r in replies) / len(replies)
    return {
        "inbound_msgs_per_s": round(count / (store_s + process_s), 1),
        "inbound_store_msgs_per_s": round(count / store_s, 1),
        "inbound_process_msgs_per_s": round(count / process_s, 1),
        "inbound_queries_per_reply": round(len(statements) / count, 2),
        "inbound_messages": count,
        "inbound_mean_bytes": round(mean_bytes),
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
