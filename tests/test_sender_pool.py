"""The sender's pool of SMTP connections against relays that are slow or turn connections away.

Real aiosmtpd relays (in this process, their own thread), real aiosmtplib, both
databases. A relay far away makes the pool grow from ``[smtp] connections`` to
``max_connections``; a relay that allows only a few connections makes it back
off. Either way every row is sent exactly once and a refused connection costs
no row an attempt.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from mailsup.models import OutboundMessage
from mailsup.outbound import outbox, sender
from mailsup.outbound.compose import Rendered
from mailsup.testing import free_port
from mailsup.testing.sink import SinkHandler

NOW = datetime.fromisoformat("2026-11-25T06:30+00:00")


@dataclass
class Shape:
    """How the relay behaves, and what it saw."""

    delay: float = 0.0  # seconds before every reply (a relay in another region)
    limit: int | None = None  # sessions beyond this many at once are turned away...
    refuse_at: str = "connect"  # ... with 421 to the greeting, or 421 to MAIL
    active: int = 0
    peak: int = 0  # the most sessions it served at once (turned-away ones not counted)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class ShapedSMTP(SMTP):
    def __init__(self, handler, shape: Shape, **kwargs):
        super().__init__(handler, **kwargs)
        self.shape, self.continuing, self.greeted, self.over = shape, False, False, False

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        with self.shape.lock:
            self.shape.active += 1
            self.over = self.shape.limit is not None and self.shape.active > self.shape.limit
            if self.over:
                self.shape.refused += 1
            else:
                self.shape.peak = max(self.shape.peak, self.shape.active)

    def connection_lost(self, exc) -> None:
        with self.shape.lock:
            self.shape.active -= 1
        super().connection_lost(exc)

    async def push(self, status: str) -> None:
        if not self.continuing and self.shape.delay:  # one round trip per reply
            await asyncio.sleep(self.shape.delay)
        self.continuing = status[3:4] == "-"
        if not self.greeted:
            self.greeted = True
            if self.over and self.shape.refuse_at == "connect":
                await super().push("421 4.7.0 too many connections, try later")
                self.transport.close()
                return
        await super().push(status)


@dataclass
class ShapedHandler(SinkHandler):
    sizes: list[tuple[int, int]] = field(default_factory=list)  # (SIZE given, octets received)

    async def handle_DATA(self, server, session, envelope):
        given = [o for o in envelope.mail_options if o.upper().startswith("SIZE=")]
        self.sizes.append((int(given[0][5:]) if given else -1, len(envelope.original_content)))
        return await super().handle_DATA(server, session, envelope)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if server.over and server.shape.refuse_at == "mail":
            return "421 4.7.0 too busy, closing"
        envelope.mail_from, envelope.mail_options = address, list(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.partition("@")[0]
        if local == "nobody":
            return "550 5.1.1 no such mailbox"
        if local == "later":
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def relay():
    """Start a shaped relay: ``relay(shape)`` gives (port, handler)."""
    controllers = []

    def start(shape: Shape) -> tuple[int, ShapedHandler]:
        handler, port = ShapedHandler(), free_port()

        class ShapedController(Controller):
            def factory(self):
                return ShapedSMTP(self.handler, shape, hostname="relay.test")

        controller = ShapedController(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return port, handler

    yield start
    for controller in controllers:
        controller.stop()


def queue_mails(settings, count: int, to=lambda n: [f"dev{n}@example.test"],
                key: str = "pool-test") -> None:
    for n in range(count):
        outbox.enqueue(settings, key=f"{key}:{n}", kind="test", to=to(n),
                       rendered=Rendered(f"mail {n}", f"text {n}\n", f"<p>html {n}</p>"),
                       now=NOW)


def assert_each_sent_once(handler: ShapedHandler, count: int) -> None:
    rows = list(OutboundMessage.select())
    assert len(rows) == count
    assert Counter(r.status for r in rows) == {"sent": count}
    assert all(r.attempts == 0 for r in rows), "a refused connection cost a row an attempt"
    received = Counter(m.message["Message-ID"] for m in handler.messages)
    assert received == Counter({r.message_id: 1 for r in rows})  # none lost, none twice


def test_the_pool_grows_against_a_slow_relay(make_settings, relay) -> None:
    shape = Shape(delay=0.01)
    port, handler = relay(shape)
    settings = make_settings(port, "connections = 2\nmax_connections = 6\n")
    queue_mails(settings, 60)
    report = sender.flush(settings, NOW)
    print(f"\npool: 60 mails, 10 ms relay, connections 2 -> reached {report.connections} "
          f"(max 6), relay saw at most {shape.peak} at once")
    assert len(report.sent) == 60 and report.retrying == [] and report.failed == []
    assert report.connections == 6 and shape.peak == 6  # grew to the cap, never past it
    assert_each_sent_once(handler, 60)


def test_a_single_mail_opens_a_single_connection(make_settings, relay) -> None:
    """Growth needs a backlog: one mail waiting is not a reason for a second connection."""
    shape = Shape(delay=0.005)
    port, handler = relay(shape)
    settings = make_settings(port, "connections = 1\nmax_connections = 8\n")
    queue_mails(settings, 1)
    report = sender.flush(settings, NOW)
    assert report.connections == 1 and shape.peak == 1
    assert_each_sent_once(handler, 1)


@pytest.mark.parametrize("refuse_at", ["connect", "mail"])
def test_the_pool_backs_off_when_the_relay_refuses_more_connections(
        make_settings, relay, refuse_at: str) -> None:
    shape = Shape(delay=0.005, limit=3, refuse_at=refuse_at)
    port, handler = relay(shape)
    settings = make_settings(port, "connections = 2\nmax_connections = 60\n")
    queue_mails(settings, 60)
    report = sender.flush(settings, NOW)
    print(f"\npool: relay allows 3 connections, refuses at {refuse_at}: reached "
          f"{report.connections}, turned away {shape.refused}")
    assert len(report.sent) == 60 and report.retrying == [] and report.failed == []
    assert shape.refused >= 1  # the pool did try to grow past what the relay allows
    assert shape.peak == 3  # never more than 3 sending at once
    if refuse_at == "connect":
        assert report.connections == 3
    # Growth stops at the first refusal: only connections already opening are turned
    # away, far from the 57 that growing on to the cap would be.
    assert shape.refused <= 30
    assert_each_sent_once(handler, 60)


def test_recipients_refused_size_and_rset_on_one_connection(make_settings, relay) -> None:
    """mailsup's own MAIL/RCPT/DATA steps keep sendmail's rules: every recipient refused
    fails the row (5xx for good), one refused of two still sends, the connection goes
    on after a refusal (RSET), and SIZE is the size of what DATA sent."""
    port, handler = relay(Shape())
    settings = make_settings(port, "connections = 1\nmax_connections = 1\n")
    recipients = [["nobody@example.test"], ["dev1@example.test", "nobody@example.test"],
                  ["dev2@example.test"], ["later@example.test"]]
    queue_mails(settings, 4, to=lambda n: recipients[n])
    report = sender.flush(settings, NOW)
    rows = {r.key: r for r in OutboundMessage.select()}
    status = {key: row.status for key, row in rows.items()}
    assert status == {"pool-test:0": "failed", "pool-test:1": "sent", "pool-test:2": "sent",
                      "pool-test:3": "pending"}
    assert "550" in rows["pool-test:0"].last_error and rows["pool-test:3"].attempts == 1
    assert len(report.sent) == 2 and report.connections == 1
    assert [m.rcpt_tos for m in handler.messages] == [["dev1@example.test"],
                                                      ["dev2@example.test"]]
    assert [given for given, _ in handler.sizes] == [got for _, got in handler.sizes]


def test_the_next_flush_remembers_the_relays_limit(make_settings, relay) -> None:
    """The service flushes every few seconds: a relay's "too many connections" is
    believed for an hour, not relearned (with refused connections) each flush."""
    shape = Shape(delay=0.005, limit=3)
    port, handler = relay(shape)
    settings = make_settings(port, "connections = 2\nmax_connections = 60\n")
    queue_mails(settings, 60)
    sender.flush(settings, NOW)
    learned = shape.refused
    assert learned >= 1

    queue_mails(settings, 60, key="again")
    report = sender.flush(settings, NOW + timedelta(minutes=5))
    assert len(report.sent) == 60 and report.connections == 3
    assert shape.refused == learned  # no connection turned away: it started at 3

    queue_mails(settings, 60, key="later")
    report = sender.flush(settings, NOW + sender.LIMIT_REMEMBERED + timedelta(minutes=5))
    assert len(report.sent) == 60
    assert shape.refused > learned  # an hour on it tries to grow past 3 again
    assert shape.peak == 3
    assert_each_sent_once(handler, 180)
