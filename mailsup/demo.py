"""``mailsup demo``: a simulated day on the embedded defaults, with no other service.

A temporary directory holds the SQLite database and config; a built-in aiosmtpd
sink stands in for the relay, so the mail really goes over SMTP. The clock is
simulated: the day's ticks run back to back, and every mail is printed as the
sink receives it.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

from . import config as config_mod
from . import database, directory

DEMO_DAY = date(2026, 11, 25)  # a Wednesday, no public holiday in DE/US/IN
STEP = timedelta(minutes=15)


@dataclass
class Sink:
    """The demo's relay: keeps every message it accepts, in order."""

    received: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_config(folder: Path, port: int) -> Path:
    path = folder / "mailsup.ini"
    path.write_text(textwrap.dedent(f"""\
        [mailsup]
        database = sqlite:///mailsup.db
        secret = demo-secret-not-for-production
        reply_address = sup@demo.example

        [smtp]
        host = 127.0.0.1
        port = {port}
        security = none
        from = mailsup <sup@demo.example>
        """), encoding="utf-8")
    return path


def _summary(rcpts: list[str], raw: bytes) -> dict:
    msg = message_from_bytes(raw, policy=policy.default)
    return {"to": rcpts, "subject": str(msg["Subject"]), "message_id": str(msg["Message-ID"]),
            "text": msg.get_body(("plain",)).get_content()}


def run_demo(keep: bool = False, as_json: bool = False, day: date = DEMO_DAY) -> int:
    from aiosmtpd.controller import Controller

    from .jobs.tick import tick

    folder = Path(tempfile.mkdtemp(prefix="mailsup-demo-"))
    sink = Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    out = sys.stdout
    events = []
    try:
        settings = config_mod.load(str(_write_config(folder, port)))
        database.bind(settings.database)
        database.migrate()
        loaded = directory.load_file(Path(__file__).parent / "demo_data" / "directory.toml",
                                     settings.schedule)
        if not as_json:
            print(f"mailsup demo in {folder}", file=out)
            print(f"{loaded.summary()}; simulating {day:%A %d %B %Y} (UTC clock, "
                  f"ticks every {int(STEP.total_seconds() // 60)} min)\n", file=out)
        now = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        end = now + timedelta(hours=18)
        seen = 0
        while now <= end:
            tick(settings, now)
            for rcpts, raw in sink.received[seen:]:
                item = _summary(rcpts, raw) | {"at": now.isoformat()}
                events.append(item)
                if not as_json:
                    _print_mail(item, first=len(events) == 1)
            seen = len(sink.received)
            now += STEP
        if as_json:
            print(json.dumps({"directory": str(folder), "mails": events}, indent=2), file=out)
        else:
            print(f"\n{len(events)} mails sent over SMTP to the demo sink.", file=out)
            if keep:
                print(f"Try: mailsup --config {folder / 'mailsup.ini'} sup list", file=out)
            else:
                print("Run `mailsup demo --keep` to keep the database and look around.", file=out)
    finally:
        controller.stop()
        if database.db.obj is not None:
            database.db.obj.close()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


def _print_mail(item: dict, first: bool) -> None:
    print(f"[{item['at'][11:16]} UTC] to {', '.join(item['to'])}: {item['subject']}")
    if first:
        body = textwrap.indent(item["text"].rstrip(), "    | ", predicate=lambda _line: True)
        print(body + "\n")
