"""The fixtures, and only fixtures: databases, an SMTP sink, settings, the doubles.

Everything is real: aiosmtpd receives what aiosmtplib sends, PostgreSQL is the
machine's own server (a private schema per test), and time is a parameter.
The stand-ins themselves live in ``mailsup.testing`` (the demo and the
benchmarks use them too); test-only helpers live in ``tests/support``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailsup import config as config_mod
from mailsup import database
from mailsup.models import db
from mailsup.outbound import sender
from mailsup.testing import free_port
from mailsup.testing.config import write_config
from mailsup.testing.dovecot import Dovecot, require_dovecot, start_dovecot
from mailsup.testing.github_api import GitHubDouble
from mailsup.testing.sink import SmtpSink
from tests.support.databases import database_url, install_schema


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """Undo what an in-process ``mailsup`` call did to the root logger.

    ``configure_logging`` installs a handler bound to the sys.stderr of that
    moment, which pytest closes after the test; a later test's thread logging
    through it printed "--- Logging error ---" instead of its warning.
    """
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.fixture(autouse=True)
def _relay_limits_forgotten() -> Iterator[None]:
    """A limit one test's relay taught the pool must not cap a later test's relay that
    happens to get the same port."""
    yield
    sender.relay_limits.forget()


@pytest.fixture
def smtp_sink():
    sink = SmtpSink(free_port())
    sink.start()
    yield sink
    sink.stop()


# --- databases -------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def make_settings(tmp_path, db_url):
    """Build settings (and a fresh schema) from extra ini text.

    The schema is the one ``migrate()`` builds, installed from a copy made once
    per session (``tests/support/databases.py``); ``migrate()`` still runs, as a
    no-op, or as an upgrade where a test put something in the database first.
    """
    def factory(smtp_port: int | None = None, extra: str = "", mailsup_extra: str = ""):
        path = write_config(tmp_path / "mailsup.ini", db_url, smtp_port, extra, mailsup_extra)
        settings = config_mod.load(str(path))
        install_schema(db_url)
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
    install_schema(settings.database)
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


# --- doubles ---------------------------------------------------------------

@pytest.fixture
def github_double() -> Iterator[GitHubDouble]:
    """A fresh GitHub double per test, listening on 127.0.0.1 at an ephemeral port."""
    with GitHubDouble(token="test-token") as double:
        yield double


@pytest.fixture
def slack_double():
    """A started Slack double; ``.base_url`` ends in ``/api/``, ``.token`` is accepted."""
    from mailsup.testing.slack_api import SlackDouble

    with SlackDouble() as server:
        yield server


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    """A started Dovecot: ``.host .port .user .password .processed_folder``, user sup/secret."""
    require_dovecot()
    server = start_dovecot(tmp_path)
    try:
        yield server
    finally:
        server.stop()


# --- figures ---------------------------------------------------------------
# Tests that measure something (fault counts, the fuzz run, loop figures) print
# one line each; pytest keeps a passing test's output to itself, so CI's log
# would never show them. Collect those lines and print them once at the end.
FIGURE_PREFIXES = ("faults:", "fuzz:", "FIGURE ", "privacy week:", "workers:")
_figures: list[str] = []


def pytest_runtest_logreport(report):
    if report.when != "call" or not report.passed:
        return
    for line in report.capstdout.splitlines():
        if line.startswith(FIGURE_PREFIXES):
            _figures.append(f"{line}  [{report.nodeid.rpartition('::')[2]}]")


def pytest_terminal_summary(terminalreporter):
    if _figures:
        terminalreporter.section("figures measured by the tests")
        for line in _figures:
            terminalreporter.write_line(line)
