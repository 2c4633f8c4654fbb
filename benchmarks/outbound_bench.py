"""Outbound mail throughput: mailsup's outbox against stdlib smtplib and the sink's own limit.

Usage: ``python benchmarks/outbound_bench.py [--quick]`` prints the JSON of :func:`run`.

All three figures send the same SUP request mails (the same bytes) to one
in-process aiosmtpd sink whose handler only counts:
- ``outbound_msgs_per_s``: render + ``outbox.enqueue`` + ``sender.flush`` (claim, a pool
  of aiosmtplib connections at the packaged defaults, record each row) — what a
  creating tick pays. ``outbound_flush_cpu_us_per_msg`` is the flush's own CPU per
  mail (this thread's; the sink runs in another), steadier than rates on a busy
  machine; ``outbound_flush_connections`` the most connections it had open.
- ``outbound_naive_msgs_per_s``: the rendered bytes with ``smtplib``, one connection
  (connect, EHLO, MAIL, RCPT, DATA, QUIT) per message: the obvious loop.
- ``sink_accept_msgs_per_s``: the rendered bytes over ONE aiosmtplib connection and
  nothing else: the ceiling that the sink (in this same process) allows.
The SUP rows are created by an untimed tick first; their mails are then deleted
and queued again, timed, so rendering reads the real rows.
"""

from __future__ import annotations

import asyncio
import json
import re
import smtplib
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiosmtplib  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402

from benchmarks.tick_bench import NOW, Workspace, populate, workspace  # noqa: E402
from mailsup import sup as sups  # noqa: E402
from mailsup.jobs.tick import tick  # noqa: E402
from mailsup.models import OutboundMessage, Sup  # noqa: E402
from mailsup.outbound import sender  # noqa: E402
from mailsup.testing import free_port  # noqa: E402

Mail = tuple[str, list[str], bytes]  # envelope sender, recipients, message bytes


class CountingHandler:
    """Accepts every message and only counts it: the sink should cost as little as possible."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


@dataclass
class Sink:
    port: int
    handler: CountingHandler


@contextmanager
def smtp_sink() -> Iterator[Sink]:
    """An aiosmtpd Controller in this process (its own thread and event loop)."""
    handler = CountingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield Sink(port, handler)
    finally:
        controller.stop()


def requeue_all(ws: Workspace) -> float:
    """Seconds to render and enqueue the request mail of every SUP (mails deleted first)."""
    OutboundMessage.delete().execute()
    all_sups = list(Sup.select().order_by(Sup.id))
    start = time.perf_counter()
    queued = sups.queue_requests(ws.settings, all_sups, NOW)
    elapsed = time.perf_counter() - start
    if queued != len(all_sups):
        raise AssertionError(f"queued {queued} of {len(all_sups)} request mails")
    return elapsed


@dataclass
class Flushed:
    seconds: float
    cpu_seconds: float  # this thread's: the sender's work, not the sink's
    connections: int


def flush_all(ws: Workspace, sink: Sink, count: int) -> Flushed:
    """``sender.flush`` sending every queued row to the sink."""
    before = sink.handler.count
    start, cpu = time.perf_counter(), time.thread_time()
    report = sender.flush(ws.settings, NOW)
    flushed = Flushed(time.perf_counter() - start, time.thread_time() - cpu,
                      report.connections)
    if len(report.sent) != count or sink.handler.count - before != count:
        raise AssertionError(f"flush sent {len(report.sent)}, sink got "
                             f"{sink.handler.count - before}, expected {count}")
    return flushed


def sent_mails(ws: Workspace) -> list[Mail]:
    """The exact envelopes and bytes the outbox sent, for the baselines."""
    rows = OutboundMessage.select().order_by(OutboundMessage.id)
    return [(sender.envelope_sender(ws.settings, r), list(r.recipients), bytes(r.raw))
            for r in rows]


def crlf(raw: bytes) -> bytes:
    """smtplib sends bytes as given; aiosmtplib converts to CRLF itself, so do it for smtplib."""
    return re.sub(rb"\r?\n", b"\r\n", raw)


def send_naive(port: int, mails: list[Mail]) -> float:
    """Seconds for stdlib smtplib, a fresh connection per message (same bytes on the wire)."""
    wire = [(mail_from, rcpt, crlf(raw)) for mail_from, rcpt, raw in mails]
    start = time.perf_counter()
    for mail_from, rcpt, raw in wire:
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.sendmail(mail_from, rcpt, raw)
    return time.perf_counter() - start


async def _one_connection(port: int, mails: list[Mail]) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    await client.connect()
    try:
        for mail_from, rcpt, raw in mails:
            await client.sendmail(mail_from, rcpt, raw)
    finally:
        await client.quit()


def send_one_connection(port: int, mails: list[Mail]) -> float:
    """Seconds for pre-rendered bytes over one aiosmtplib connection: the sink's limit."""
    start = time.perf_counter()
    asyncio.run(_one_connection(port, mails))
    return time.perf_counter() - start


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1)


def expect(sink: Sink, total: int) -> None:
    if sink.handler.count != total:
        raise AssertionError(f"sink received {sink.handler.count}, expected {total}")


def run(quick: bool, scale: float = 1.0) -> dict[str, Any]:
    """``scale`` < 1 shrinks the number of mails (the smoke test)."""
    count = max(5, int((200 if quick else 500) * scale))
    with smtp_sink() as sink, workspace(sink.port) as ws:
        populate(count)
        tick(ws.settings, NOW, send=False)  # untimed: the SUP rows to render from
        enqueue_s = requeue_all(ws)
        flushed = flush_all(ws, sink, count)
        flush_s = flushed.seconds
        mails = sent_mails(ws)
        naive_s = send_naive(sink.port, mails)
        expect(sink, 2 * count)
        accept_s = send_one_connection(sink.port, mails)
        expect(sink, 3 * count)
    return {
        "outbound_msgs_per_s": rate(count, enqueue_s + flush_s),
        "outbound_enqueue_msgs_per_s": rate(count, enqueue_s),
        "outbound_flush_msgs_per_s": rate(count, flush_s),
        "outbound_flush_cpu_us_per_msg": round(flushed.cpu_seconds / count * 1e6),
        "outbound_flush_connections": flushed.connections,
        "outbound_naive_msgs_per_s": rate(count, naive_s),
        "sink_accept_msgs_per_s": rate(count, accept_s),
        "outbound_messages": count,
        "outbound_mean_bytes": round(sum(len(m[2]) for m in mails) / len(mails)),
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
