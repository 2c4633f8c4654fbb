"""`mailsup run` as an operator runs it: a child process, real doors, real clock.

The README's path, end to end: write mailsup.ini, `mailsup init`, `mailsup
directory load`, `mailsup tick` (the SUP mails reach the SMTP sink), then the
long-running service with its embedded SMTP listener and the IMAP door on a
real Dovecot. A reply over SMTP and a reply dropped into the IMAP inbox are
both applied and answered within seconds; SIGTERM stops the service cleanly.
`mailsup run --once` is the cron variant.

The service ticks with the real clock, so the developer's time zone is chosen
at test time: a fixed-offset zone where it is now 07:xx, after sup_time
(06:00) and before nag_time (09:30), on a week with all seven workdays. That
works on any day, at any hour, in any zone the test machine is in.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiosmtplib
import pytest

from mailsup.testing import free_port
from mailsup.testing.config import write_config
from mailsup.testing.dovecot import imap_ini
from mailsup.testing.replies import make_reply, reply_to_address
from mailsup.testing.sink import SmtpSink

DEADLINE = 15.0  # seconds for anything the service should do "at once"
STOP_DEADLINE = 10.0  # seconds from SIGTERM to exit
LOCAL_HOUR = 7


def zone_where_it_is(hour: int, now: datetime | None = None) -> str:
    """A fixed-offset IANA zone (``Etc/GMT±N``) whose local time is ``hour``:xx now."""
    utc_hour = (now or datetime.now(UTC)).hour
    offset = (hour - utc_hour + 12) % 24 - 12  # -12 … +11 hours east of UTC
    # POSIX sign convention: Etc/GMT-3 is three hours *east* of Greenwich.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def directory_toml(timezone: str) -> str:
    person = """
[[people]]
email = "{email}"
name = "{name}"
timezone = "{tz}"
workdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
"""
    people = "".join(person.format(email=e, name=n, tz=timezone) for e, n in (
        ("alice@example.com", "Alice Smith"), ("hana@example.com", "Hana HR")))
    clients = "".join(f"""
[[clients]]
slug = "{slug}"
name = "{name}"
orgs = ["{slug}"]
hr = "hana@example.com"

[[teams]]
org = "{slug}"
slug = "core"
name = "Core"
members = ["alice@example.com"]
""" for slug, name in (("acme", "Acme Corp"), ("globex", "Globex")))
    return people + clients


def wait_for(predicate: Callable[[], object], what: str, timeout: float = DEADLINE,
             interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


class Operator:
    """Runs `mailsup --config INI …` as separate processes, like a shell would."""

    def __init__(self, workdir: Path, ini: Path):
        self.workdir = workdir
        self.ini = ini
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MAILSUP_")}

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "mailsup", "--config", str(self.ini), *args]

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(self.argv(*args), cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"mailsup {' '.join(args)}: {done.returncode}\n{done.stderr}"
        return done

    def json(self, *args: str):
        return json.loads(self(*args, "--json").stdout)

    def sups(self) -> dict[str, dict]:
        """Today's SUPs by client slug."""
        return {s["client"]: s for s in self.json("sup", "list")}

    def status(self, sup_id: int) -> str:
        return self.json("sup", "show", str(sup_id))["status"]

    def spawn(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            return subprocess.Popen(self.argv(*args), cwd=self.workdir, env=self.env,
                                    stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture
def operator(tmp_path, db_url, smtp_sink, dovecot) -> Operator:
    """A fresh installation following the README: config, init, directory."""
    listen_port = free_port()
    ini = write_config(tmp_path / "mailsup.ini", db_url, smtp_sink.port, extra=f"""
        [inbound]
        listen = 127.0.0.1:{listen_port}
        """ + imap_ini(dovecot))
    op = Operator(tmp_path, ini)
    op.listen_port = listen_port
    op("init")
    directory = tmp_path / "people.toml"
    directory.write_text(directory_toml(zone_where_it_is(LOCAL_HOUR)), encoding="utf-8")
    op("directory", "load", str(directory))
    return op


class Service:
    """One `mailsup run` child process and its combined stdout/stderr log."""

    def __init__(self, operator: Operator, log: Path, args: tuple[str, ...]):
        self.operator = operator
        self.log = log
        self.proc = operator.spawn("run", *args, log=log)

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_listening(self) -> None:
        wait_for(lambda: listening(self.operator.listen_port) or self.proc.poll() is not None,
                 "the SMTP listener")
        assert self.proc.poll() is None, self.output

    def stop(self, signum: int = signal.SIGTERM, timeout: float = STOP_DEADLINE) -> float:
        """Send ``signum``; returns the seconds until exit (0 and no traceback, else fail)."""
        sent = time.monotonic()
        self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return float("inf")
        took = time.monotonic() - sent
        output = self.output
        assert code == 0, output
        assert "Traceback" not in output, output
        assert signal.Signals(signum).name in output, output
        assert not listening(self.operator.listen_port)
        return took


def sup_requests(sink: SmtpSink) -> dict[str, object]:
    """SUP request mails at the sink by client name."""
    found = {}
    for mail in sink.to("alice@example.com"):
        subject = str(mail["Subject"])
        if "stand-up for" in subject and not subject.startswith(("Re:", "Reminder")):
            found["globex" if "Globex" in subject else "acme"] = mail
    return found


def receipts(sink: SmtpSink) -> list:
    return [m for m in sink.to("alice@example.com") if str(m["Subject"]).startswith("Re:")]


def send_over_smtp(raw: bytes, port: int, recipient: str) -> None:
    asyncio.run(aiosmtplib.send(raw, hostname="127.0.0.1", port=port,
                                sender="alice@example.com", recipients=[recipient],
                                timeout=10))


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def start_service(operator, tmp_path) -> Iterator[Callable[..., Service]]:
    """Start `mailsup run [ARGS]` as a child process; killed at the end if still running."""
    started: list[Service] = []

    def start(*args: str) -> Service:
        service = Service(operator, tmp_path / f"run{len(started)}.log", args)
        started.append(service)
        return service

    yield start
    for service in started:
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.wait(10)


def test_zone_where_it_is_gives_the_wanted_local_hour():
    from zoneinfo import ZoneInfo

    for utc_hour in range(24):
        now = datetime(2026, 11, 25, utc_hour, 30, tzinfo=UTC)
        zone = zone_where_it_is(LOCAL_HOUR, now)
        assert now.astimezone(ZoneInfo(zone)).hour == LOCAL_HOUR, (utc_hour, zone)


def test_run_applies_replies_from_both_doors_and_stops_on_sigterm(
        operator, start_service, smtp_sink, dovecot):
    # The morning's SUPs, created by a separate `mailsup tick` before the service starts.
    operator("tick")
    requests = sup_requests(smtp_sink)
    assert set(requests) == {"acme", "globex"}
    sups = operator.sups()
    assert {s["status"] for s in sups.values()} == {"open"}

    service = start_service()
    service.wait_listening()
    wait_for(lambda: "IMAP connected" in service.output, "the IMAP door to connect")

    # Door 1: the embedded SMTP listener.
    reply = make_reply(requests["acme"], "plan: ship the login fix\nscheduling: part day")
    send_over_smtp(reply, operator.listen_port, reply_to_address(requests["acme"]))
    acme = sups["acme"]["id"]
    wait_for(lambda: operator.status(acme) == "submitted", "the SMTP reply to be applied")
    wait_for(lambda: receipts(smtp_sink), "a receipt for the SMTP reply")
    shown = operator.json("sup", "show", str(acme))
    assert shown["plan"] == "ship the login fix" and shown["scheduling"] == "part day"

    # Door 2: IMAP IDLE on Dovecot's INBOX, then the message moves to the processed folder.
    reply = make_reply(requests["globex"], "plan: review the billing PR\nscheduling: full day")
    dovecot.append(reply)
    globex = sups["globex"]["id"]
    wait_for(lambda: operator.status(globex) == "submitted", "the IMAP reply to be applied")
    wait_for(lambda: len(receipts(smtp_sink)) == 2, "a receipt for the IMAP reply")
    assert operator.json("sup", "show", str(globex))["plan"] == "review the billing PR"
    wait_for(lambda: dovecot.list_uids("INBOX") == [], "the INBOX to be emptied")
    assert len(dovecot.list_uids(dovecot.processed_folder)) == 1

    inbound = operator.json("inbound", "list")
    assert sorted(r["source"] for r in inbound) == ["imap", "smtp"]
    assert {r["status"] for r in inbound} == {"applied"}
    assert {str(m["In-Reply-To"]) for m in receipts(smtp_sink)} == {
        r["message_id"] for r in inbound}

    # SIGTERM: doors close, work in hand finishes, exit 0 without a traceback.
    took = service.stop(signal.SIGTERM)
    if took == float("inf"):
        service.proc.kill()
    assert took < STOP_DEADLINE, "mailsup run did not stop after SIGTERM"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_without_imap_stops_at_once(operator, start_service, smtp_sink, signum):
    service = start_service("--no-imap")
    service.wait_listening()
    wait_for(lambda: "tick:" in service.output, "the first tick")
    assert "imap" not in service.output.splitlines()[0]
    took = service.stop(signum)
    assert took < 5, f"{signal.Signals(signum).name} took {took:.1f}s\n{service.output}"
    # The first tick ran on the real clock: the SUPs are out, and nothing else happened.
    assert set(sup_requests(smtp_sink)) == {"acme", "globex"}


def test_run_once_as_cron_would(operator, smtp_sink, dovecot):
    first = operator.json("run", "--once")
    assert first["errors"] == {} and first["imap_stored"] == 0
    assert first["jobs"]["create_sups"] == 2 and first["sent"] == 2
    requests = sup_requests(smtp_sink)
    assert set(requests) == {"acme", "globex"}

    dovecot.append(make_reply(requests["acme"], "plan: pair with Hana\nscheduling: full day"))
    second = operator.json("run", "--once")
    assert second["errors"] == {} and second["imap_stored"] == 1
    assert second["jobs"]["inbound"] == 1 and second["jobs"]["create_sups"] == 0
    assert second["sent"] == 1  # the receipt
    (receipt,) = receipts(smtp_sink)
    assert "pair with Hana" in receipt.text
    assert dovecot.list_uids("INBOX") == []
    assert len(dovecot.list_uids(dovecot.processed_folder)) == 1
    assert {k: s["status"] for k, s in operator.sups().items()} == {
        "acme": "submitted", "globex": "open"}

    # Nothing new: a third minute does nothing and says so in plain text.
    third = operator("run", "--once")
    assert "imap_stored=0" in third.stdout and "sent=0" in third.stdout
