"""Outbound against a relay shaped like a real one: STARTTLS required, every reply 25 ms late.

Usage: ``python benchmarks/relay_bench.py [--quick] [--delay-ms 25]`` prints the JSON of
:func:`run`.

A loopback sink answers at once, so a fresh connection per mail costs nothing
and the naive loop looks good. A real relay is in another region and speaks
STARTTLS: each SMTP reply is a round trip away and each connection pays a TLS
handshake. The relay here is aiosmtpd in a **child process** (its CPU is not
the sender's: another machine, as far as two cores allow), requiring STARTTLS
with a ``trustme`` certificate and sleeping ``delay`` before every reply it
sends (banner included). Three figures over the same rendered SUP mails:

- ``relay_naive_msgs_per_s`` (**baseline**): stdlib ``smtplib``, one connection per
  mail (connect, EHLO, STARTTLS, EHLO, MAIL, RCPT, DATA, QUIT): the obvious loop.
- ``relay_outbound_msgs_per_s``: mailsup's ``sender.flush`` at its packaged defaults
  (claim; start ``[smtp] connections`` connections and open one more per mail accepted
  while mail waits, up to ``max_connections``; record each row as the relay accepts
  it). ``relay_outbound_connections_reached`` is how many the pool had open at most.
- ``relay_ceiling_msgs_per_s`` (**ceiling**): the pre-rendered bytes and nothing
  else (no claim, no record), over 1, 2, 4 … parallel aiosmtplib connections until
  more stop helping; the best count wins (``relay_ceiling_by_connections``).
  Where that best count is not mailsup's start, mailsup is measured again with a
  fixed pool of it (``connections`` = ``max_connections`` = n,
  ``relay_outbound_by_connections``): what an operator gets by setting it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import smtplib
import ssl
import subprocess
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

from benchmarks.tick_bench import NOW, Workspace, populate, workspace  # noqa: E402
from mailsup import config as config_mod  # noqa: E402
from mailsup import sup as sups  # noqa: E402
from mailsup.jobs.tick import tick  # noqa: E402
from mailsup.models import OutboundMessage, Sup  # noqa: E402
from mailsup.outbound import sender  # noqa: E402
from mailsup.testing import free_port  # noqa: E402

DELAY_MS = 25.0
Mail = tuple[str, list[str], bytes]


# --- the relay, in its own process ------------------------------------------------------

def serve(port: int, cert: str, key: str, delay: float) -> None:
    """The child: an aiosmtpd relay that requires STARTTLS and answers ``delay`` s late.

    Prints ``ready`` once listening; every line read on stdin is answered with the
    number of mails accepted so far; stdin closed ends it.
    """
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    class Counting:
        count = 0

        async def handle_DATA(self, server, session, envelope) -> str:
            Counting.count += 1
            return "250 OK"

    class FarSMTP(SMTP):
        continuing = False  # inside a multi-line reply (EHLO's "250-" lines)

        async def push(self, status: str) -> None:
            if not self.continuing:  # one round trip per reply, not per line
                await asyncio.sleep(delay)
            self.continuing = status[3:4] == "-"
            await super().push(status)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    class FarController(Controller):
        def factory(self):
            return FarSMTP(self.handler, tls_context=context, require_starttls=True,
                           hostname="relay.test")

    controller = FarController(Counting(), hostname="127.0.0.1", port=port,
                               ready_timeout=30)
    controller.start()
    print("ready", flush=True)
    for _line in sys.stdin:
        print(Counting.count, flush=True)
    controller.stop()


@dataclass
class Relay:
    port: int
    ca_file: str
    child: subprocess.Popen

    def accepted(self) -> int:
        self.child.stdin.write("count\n")
        self.child.stdin.flush()
        return int(self.child.stdout.readline())


@contextmanager
def far_relay(root: Path, delay: float) -> Iterator[Relay]:
    """The relay child with a fresh CA; the CA is what ``SSL_CERT_FILE`` trusts meanwhile."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, cert_file, key_file = (str(root / n) for n in ("ca.pem", "cert.pem", "key.pem"))
    ca.cert_pem.write_to_path(ca_file)
    cert.cert_chain_pems[0].write_to_path(cert_file)
    cert.private_key_pem.write_to_path(key_file)
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.relay_bench", "--serve", str(port), cert_file,
         key_file, str(delay)],
        cwd=Path(__file__).resolve().parents[1], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    before = os.environ.get("SSL_CERT_FILE")
    try:
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("the relay did not start")
        # aiosmtplib and smtplib build their contexts with the default trust store,
        # which OpenSSL reads from SSL_CERT_FILE: mailsup verifies the relay as in
        # production, with no benchmark-only option.
        os.environ["SSL_CERT_FILE"] = ca_file
        yield Relay(port, ca_file, child)
    finally:
        if before is None:
            os.environ.pop("SSL_CERT_FILE", None)
        else:
            os.environ["SSL_CERT_FILE"] = before
        child.stdin.close()
        child.wait(timeout=30)


# --- the three senders --------------------------------------------------------------------

def crlf(raw: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", raw)


def send_naive(relay: Relay, mails: list[Mail]) -> float:
    """smtplib, STARTTLS, one connection per mail."""
    context = ssl.create_default_context(cafile=relay.ca_file)
    wire = [(f, r, crlf(raw)) for f, r, raw in mails]
    start = time.perf_counter()
    for mail_from, rcpt, raw in wire:
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=30) as client:
            client.starttls(context=context)
            client.sendmail(mail_from, rcpt, raw)
    return time.perf_counter() - start


async def _parallel(relay: Relay, mails: list[Mail], connections: int) -> None:
    queue = list(reversed(mails))

    async def one() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=relay.port, start_tls=True,
                                 timeout=30)
        await client.connect()
        try:
            while queue:
                mail_from, rcpt, raw = queue.pop()
                await client.sendmail(mail_from, rcpt, raw)
        finally:
            await client.quit()

    await asyncio.gather(*(one() for _ in range(min(connections, len(mails)))))


def send_parallel(relay: Relay, mails: list[Mail], connections: int) -> float:
    start = time.perf_counter()
    asyncio.run(_parallel(relay, mails, connections))
    return time.perf_counter() - start


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1)


def check(relay: Relay, expected: int, what: str) -> None:
    got = relay.accepted()
    if got != expected:
        raise AssertionError(f"{what}: the relay accepted {got}, expected {expected}")


class Ceiling:
    """Pre-rendered bytes over n parallel connections, for each n tried."""

    def __init__(self, relay: Relay, mails: list[Mail], accepted: int):
        self.relay, self.mails, self.accepted = relay, mails, accepted
        self.rates: dict[int, float] = {}

    def at(self, n: int) -> float:
        if n not in self.rates:
            seconds = send_parallel(self.relay, self.mails, n)
            self.accepted += len(self.mails)
            check(self.relay, self.accepted, f"ceiling over {n} connections")
            self.rates[n] = rate(len(self.mails), seconds)
        return self.rates[n]

    def search(self, start: int) -> int:
        """Double from ``start`` while it helps (10%), halve below it if it never did."""
        best, n = start, start * 2
        while n <= len(self.mails) and self.at(n) > self.at(best) * 1.1:
            best, n = n, n * 2
        n = start // 2
        while best == start and n >= 1 and self.at(n) > self.at(start):
            start, best, n = n, n, n // 2
        return max(self.rates, key=self.rates.get)


def relay_ini(ws: Workspace, relay: Relay, connections: int | None,
              cap: int | None = None) -> None:
    """The workspace's ini, pointed at the far relay with STARTTLS.

    ``connections``/``cap``: ``[smtp] connections``/``max_connections``, None: the
    packaged default.
    """
    path = ws.root / "mailsup.ini"
    text = re.sub(r"(?m)^port = .*$", f"port = {relay.port}", path.read_text(), count=1)
    text = text.replace("security = none", "security = starttls")
    text = re.sub(r"(?m)^(max_)?connections = .*\n", "", text)  # a former call's choice
    pool = "".join(f"{key} = {value}\n" for key, value in
                   (("connections", connections), ("max_connections", cap)) if value)
    text = text.replace("[smtp]\n", f"[smtp]\n{pool}", 1)
    path.write_text(text)
    ws.settings = config_mod.load(str(path))


def requeue(ws: Workspace) -> None:
    OutboundMessage.delete().execute()
    for sup in Sup.select().order_by(Sup.id):
        sups.queue_request(ws.settings, sup, NOW)


def measure_outbound(ws: Workspace, relay: Relay, count: int,
                     accepted: int) -> tuple[float, int]:
    """Seconds for ``sender.flush`` of ``count`` freshly queued SUP mails, and the most
    connections it had open."""
    requeue(ws)  # rendered with the relay's settings, untimed
    start = time.perf_counter()
    report = sender.flush(ws.settings, NOW)
    seconds = time.perf_counter() - start
    if len(report.sent) != count:
        raise AssertionError(f"flush sent {len(report.sent)} of {count}: {report}")
    check(relay, accepted + count, f"mailsup over {report.connections} connections")
    return seconds, report.connections


def run(quick: bool, scale: float = 1.0, delay_ms: float = DELAY_MS,
        connections: int | None = None, max_connections: int | None = None
        ) -> dict[str, Any]:
    """``connections``, ``max_connections`` None: the packaged defaults."""
    count = max(8, int((100 if quick else 200) * scale))
    naive_count = max(4, int((20 if quick else 40) * scale))
    with workspace(smtp_port=25) as ws, far_relay(ws.root, delay_ms / 1000) as relay:
        relay_ini(ws, relay, connections, max_connections)
        pool, cap = ws.settings.smtp.connections, ws.settings.smtp.max_connections
        populate(count)
        tick(ws.settings, NOW, send=False)  # untimed: the SUP rows to render from
        seconds, reached = measure_outbound(ws, relay, count, 0)
        outbound = {pool: rate(count, seconds)}
        mails = [(sender.envelope_sender(ws.settings, r), list(r.recipients), bytes(r.raw))
                 for r in OutboundMessage.select().order_by(OutboundMessage.id)]
        naive_s = send_naive(relay, mails[:naive_count])
        check(relay, count + naive_count, "naive")
        ceiling = Ceiling(relay, mails, count + naive_count)
        best = ceiling.search(pool)
        if best != pool:  # what mailsup does when told the count the relay likes best
            relay_ini(ws, relay, best, best)
            seconds, _ = measure_outbound(ws, relay, count, ceiling.accepted)
            outbound[best] = rate(count, seconds)
    return {
        "relay_outbound_msgs_per_s": outbound[pool],
        "relay_outbound_by_connections": {str(n): r for n, r in sorted(outbound.items())},
        "relay_naive_msgs_per_s": rate(naive_count, naive_s),
        "relay_ceiling_msgs_per_s": ceiling.rates[best],
        "relay_ceiling_connections": best,
        "relay_ceiling_by_connections": {str(n): r for n, r in sorted(ceiling.rates.items())},
        "relay_connections": pool,
        "relay_max_connections": cap,
        "relay_outbound_connections_reached": reached,
        "relay_delay_ms": delay_ms,
        "relay_messages": count,
        "relay_naive_messages": naive_count,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--delay-ms", type=float, default=DELAY_MS)
    parser.add_argument("--connections", type=int, default=None)
    parser.add_argument("--max-connections", type=int, default=None)
    parser.add_argument("--serve", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        port, cert, key, delay = args.serve
        serve(int(port), cert, key, float(delay))
        return
    print(json.dumps(run(args.quick, delay_ms=args.delay_ms, connections=args.connections,
                         max_connections=args.max_connections), indent=2))


if __name__ == "__main__":
    main()
