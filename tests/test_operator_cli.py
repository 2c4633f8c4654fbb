"""The operator's view of the service: outbox, status, and exit codes cron can alert on."""

from __future__ import annotations

import json
import re
import socket
import threading
import time

import pytest

from mailsup.cli import main
from mailsup.cli.common import EXIT_TEMPFAIL
from mailsup.models import OutboundMessage
from tests.support.directory_samples import TWO_ZONES
from tests.support.helpers import load_directory

MORNING = "2026-11-25T05:00:00+00:00"  # Alice's 06:00 in Berlin


@pytest.fixture
def ini(tmp_path, make_settings, smtp_sink):
    make_settings(smtp_sink.port)
    load_directory(tmp_path, TWO_ZONES)
    return tmp_path / "mailsup.ini"


def cli(ini, *args, capsys):
    code = main(["--config", str(ini), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_tick_exits_75_while_mail_waits_for_the_relay(ini, smtp_sink, capsys):
    smtp_sink.stop()
    code, out, err = cli(ini, "tick", "--now", MORNING, capsys=capsys)
    assert code == EXIT_TEMPFAIL == 75
    assert "1 mail(s) wait for the relay" in err and "cannot reach relay" in err
    assert "see `mailsup outbox list` and `mailsup check`" in err
    # The next tick tries nothing (backoff) but the mail still waits: cron still hears it.
    code, _, err = cli(ini, "tick", "--now", "2026-11-25T05:00:30+00:00", capsys=capsys)
    assert code == 75 and "wait for the relay" in err
    smtp_sink.start()
    code, out, err = cli(ini, "tick", "--now", "2026-11-25T05:05:00+00:00", capsys=capsys)
    assert code == 0, err
    assert "sent=1" in out and "wait for the relay" not in err


def test_run_once_exits_75_while_mail_waits(ini, smtp_sink, capsys):
    smtp_sink.stop()
    code, out, err = cli(ini, "run", "--once", "--now", MORNING, capsys=capsys)
    assert code == 75 and "wait for the relay" in err


def test_a_relay_port_that_never_greets_costs_connect_timeout_not_30s(
        tmp_path, make_settings, capsys):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    held = []  # the accepted connection stays open and silent
    threading.Thread(target=lambda: held.append(silent.accept()), daemon=True).start()
    try:
        make_settings(silent.getsockname()[1], extra="connect_timeout = 1\n")
        load_directory(tmp_path, TWO_ZONES)
        started = time.monotonic()
        code, _, err = cli(tmp_path / "mailsup.ini", "tick", "--now", MORNING, capsys=capsys)
        took = time.monotonic() - started
    finally:
        silent.close()
    assert code == 75 and "wait for the relay" in err
    assert 0.9 <= took < 10, took  # [smtp] timeout is 30 s; connect_timeout bounds the greeting
    assert "Timed out" in err or "timed out" in err, err


def test_the_packaged_connect_timeout_is_short():
    from mailsup import config

    assert int(config.defaults()["smtp"]["connect_timeout"]) <= 10


def test_outbox_list_show_and_retry(ini, smtp_sink, capsys):
    smtp_sink.stop()
    cli(ini, "tick", "--now", MORNING, capsys=capsys)
    code, out, _ = cli(ini, "outbox", "list", capsys=capsys)
    assert code == 0
    header, row = out.splitlines()
    assert header.split()[:4] == ["id", "created", "(UTC)", "status"]
    assert "pending" in row and "sup_request" in row and "alice@example.com" in row
    assert "cannot reach relay" in row
    (data,) = json.loads(cli(ini, "outbox", "list", "--status", "pending", "--json",
                             capsys=capsys)[1])
    assert data["status"] == "pending" and data["attempts"] == 1 and data["to"] == \
        ["alice@example.com"]
    assert json.loads(cli(ini, "outbox", "list", "--status", "sent", "--json",
                          capsys=capsys)[1]) == []
    code, out, _ = cli(ini, "outbox", "show", str(data["id"]), "--raw", capsys=capsys)
    assert code == 0 and f"id: {data['id']}" in out and "last_error: cannot reach relay" in out
    assert "Message-ID: " + data["message_id"] in out  # the raw message follows
    # Still down: a retry says what happened and exits 75.
    later = "2026-11-25T05:10:00+00:00"
    code, out, _ = cli(ini, "outbox", "retry", str(data["id"]), "--now", later, capsys=capsys)
    assert code == 75 and f"outbox {data['id']}" in out and "pending: cannot reach relay" in out
    smtp_sink.start()
    code, out, _ = cli(ini, "outbox", "retry", str(data["id"]), "--now", later, capsys=capsys)
    assert code == 0 and out.strip().endswith(": sent")
    assert len(smtp_sink.to("alice@example.com")) == 1
    code, _, err = cli(ini, "outbox", "retry", str(data["id"]), capsys=capsys)
    assert code == 2 and "is sent; only failed or pending mail is retried" in err


def test_outbox_retry_all_failed(ini, smtp_sink, capsys):
    cli(ini, "tick", "--now", MORNING, capsys=capsys)
    OutboundMessage.update(status="failed", last_error="550 mailbox full").execute()
    code, out, _ = cli(ini, "outbox", "retry", "--all-failed", capsys=capsys)
    assert code == 0 and out.count(": sent") == 1
    code, _, err = cli(ini, "outbox", "retry", "--all-failed", capsys=capsys)
    assert code == 0 and "no failed mail to retry" in err


@pytest.mark.parametrize("args, needle", [
    (["outbox", "show", "999"], "no outbox row 999; see `mailsup outbox list`"),
    (["outbox", "retry"], "give one outbox id or --all-failed"),
    (["outbox", "retry", "1", "--all-failed"], "give one outbox id or --all-failed"),
])
def test_outbox_mistakes(ini, capsys, args, needle):
    code, _, err = cli(ini, *args, capsys=capsys)
    assert code == 2 and needle in err


def test_status(ini, smtp_sink, capsys, db_url):
    code, out, _ = cli(ini, "status", capsys=capsys)
    assert code == 0 and "last tick: never (run `mailsup tick` from cron" in out
    smtp_sink.stop()
    cli(ini, "tick", "--now", MORNING, capsys=capsys)
    code, out, _ = cli(ini, "status", capsys=capsys)
    assert code == 0
    assert "last tick: " in out and "as of 2026-11-25T05:00" in out
    assert "outbox: pending 1, sending 0, sent 0, failed 0" in out
    assert "oldest waiting: outbox 1 (sup_request)" in out and "cannot reach relay" in out
    assert "inbound: quarantined 0" in out
    assert "answers held back by loop protection: 0" in out
    assert re.search(r"versions: mailsup \S+, schema (\d+)/\1, Python", out), out
    data = json.loads(cli(ini, "status", "--json", capsys=capsys)[1])
    assert set(data) >= {"last_tick", "outbox", "oldest_pending", "quarantined",
                         "suppressed_answers", "leader", "versions"}
    assert data["outbox"]["pending"] == 1 and data["oldest_pending"]["kind"] == "sup_request"
    if db_url.startswith("sqlite"):
        assert data["leader"]["mode"] == "sqlite"
    else:
        assert data["leader"]["holder"] is None and "nothing ticks" in data["leader"]["note"]


@pytest.fixture
def postgres_only(db_url):
    """SQLite has no leader lock: conftest deselects the SQLite run."""


def test_status_names_the_leader_on_postgres(postgres_only, ini, capsys):
    from mailsup.service import Leadership

    lead = Leadership()
    assert lead.try_acquire()
    try:
        data = json.loads(cli(ini, "status", "--json", capsys=capsys)[1])
    finally:
        lead.release()
    assert data["leader"]["holder"]["pid"] > 0
