"""Shared fixtures: a database on SQLite and PostgreSQL, an SMTP sink, settings.

Everything is real: aiosmtpd receives what aiosmtplib sends, PostgreSQL is the
machine's own server (a private schema per test), and time is a parameter.
"""

from __future__ import annotations

import os
import socket
import textwrap
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from mailsup import config as config_mod
from mailsup import database
from mailsup.models import db
from tests.services import require_service

pytest_plugins = [
    "tests.doubles.github_fixture",
    "tests.doubles.slack_fixture",
    "tests.doubles.dovecot_fixture",
]

PG_DSN = os.environ.get("MAILSUP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- SMTP sink ------------------------------------------------------------

@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self):
        return message_from_bytes(self.data, policy=policy.default)

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()

    def __getitem__(self, header: str):
        return self.message[header]


@dataclass
class SinkHandler:
    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      envelope.original_content or envelope.content))
        return "250 OK"


class SmtpSink:
    """An aiosmtpd relay the tests can stop and start again (a relay outage)."""

    def __init__(self, port: int):
        self.port = port
        self.handler = SinkHandler()
        self.controller: Controller | None = None

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def start(self) -> None:
        # A stopped Controller cannot be restarted: make a new one each time.
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]

    def kinds(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


@pytest.fixture
def smtp_sink():
    sink = SmtpSink(free_port())
    sink.start()
    yield sink
    sink.stop()


# --- databases -------------------------------------------------------------

def _postgres_reachable() -> bool:
    try:
        import psycopg2

        psycopg2.connect(PG_DSN, connect_timeout=3).close()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mailsup.db'}"
        return
    if not _postgres_reachable():
        require_service(f"PostgreSQL not reachable at {PG_DSN}")
    import psycopg2

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(PG_DSN)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE SCHEMA {schema}")
    yield f"{PG_DSN}?options=-c%20search_path%3D{schema}"
    if db.obj is not None and not db.obj.is_closed():
        db.obj.close()
    admin.cursor().execute(f"DROP SCHEMA {schema} CASCADE")
    admin.close()


def write_config(path: Path, db_url: str, smtp_port: int | None, extra: str = "",
                 mailsup_extra: str = "") -> Path:
    smtp_host = "127.0.0.1" if smtp_port else ""
    text = textwrap.dedent(f"""\
        [mailsup]
        database = {db_url}
        secret = test-secret
        reply_address = sup@mailsup.test
        {mailsup_extra}

        [smtp]
        host = {smtp_host}
        port = {smtp_port or 25}
        security = none
        from = mailsup <sup@mailsup.test>
        outbox_dir = outbox
        """) + textwrap.dedent(extra)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def make_settings(tmp_path, db_url):
    """Build settings (and a fresh schema) from extra ini text."""
    def factory(smtp_port: int | None = None, extra: str = "", mailsup_extra: str = ""):
        path = write_config(tmp_path / "mailsup.ini", db_url, smtp_port, extra, mailsup_extra)
        settings = config_mod.load(str(path))
        database.bind(settings.database)
        database.migrate()
        return settings
    yield factory
    if db.obj is not None and not db.obj.is_closed():
        db.obj.close()


@pytest.fixture
def sqlite_settings(tmp_path, smtp_sink):
    """Settings on SQLite only, for tests where a second database adds nothing."""
    path = write_config(tmp_path / "mailsup.ini", f"sqlite:///{tmp_path / 'mailsup.db'}",
                        smtp_sink.port)
    settings = config_mod.load(str(path))
    database.bind(settings.database)
    database.migrate()
    yield settings
    db.obj.close()


@pytest.fixture
def settings(make_settings, smtp_sink):
    return make_settings(smtp_sink.port)


# Tests that only make sense on one database ask for a fixture that says so;
# their other parametrisation is deselected rather than shown as a skip, so
# every skip CI prints is a missing service.
ONE_DATABASE_FIXTURES = {"postgres_only": "postgres", "sqlite_path": "sqlite"}


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        param = getattr(getattr(item, "callspec", None), "params", {}).get("db_url")
        wanted = {db for name, db in ONE_DATABASE_FIXTURES.items()
                  if name in getattr(item, "fixturenames", ())}
        (drop if param and wanted and param not in wanted else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
