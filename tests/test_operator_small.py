"""Issue 16's small ones: each mistake of a first week gets a line that says what to do.

Also: sync-github's exit code, quiet aiosmtpd logs, and progress on a terminal
only (a pty stands in for the operator's terminal).
"""

from __future__ import annotations

import os
import pty
import signal
import smtplib
import subprocess
import time

import pytest

from mailsup import config as config_mod
from mailsup.cli import main
from mailsup.models import Sup
from mailsup.testing import free_port
from mailsup.testing.config import write_config
from tests.support.directory_samples import TWO_ZONES
from tests.support.helpers import load_directory
from tests.support.world import child_env, mailsup_argv

MORNING = "2026-11-25T05:00:00+00:00"


def cli(*args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ini(tmp_path, make_settings, smtp_sink):
    make_settings(smtp_sink.port)
    return tmp_path / "mailsup.ini"


@pytest.fixture
def world(ini, tmp_path):
    load_directory(tmp_path, TWO_ZONES)
    return ini


def on_terminal(argv: list[str], cwd=None) -> tuple[int, str, str]:
    """Run a child with stderr on a pty (a terminal), stdout on a pipe."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=slave, env=child_env(), cwd=cwd)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    out = proc.stdout.read().decode()
    proc.wait(60)
    os.close(master)
    return proc.returncode, out, b"".join(chunks).decode(errors="replace")


def piped(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=child_env())


# --- sync-github ---------------------------------------------------------------------

@pytest.fixture
def gh_ini(tmp_path, make_settings, smtp_sink, github_double):
    github_double.add_repo("acme/api")
    make_settings(smtp_sink.port, extra=f"[github]\ntoken = test-token\n"
                                         f"base_url = {github_double.base_url}\n")
    load_directory(tmp_path, TWO_ZONES)
    return tmp_path / "mailsup.ini"


@pytest.mark.parametrize("down", ["error", "refused"])
def test_sync_github_exits_non_zero_when_an_org_was_not_synced(gh_ini, github_double, capsys,
                                                               down):
    github_double.set_down(down)
    code, out, err = cli("--config", gh_ini, "directory", "sync-github", capsys=capsys)
    assert code == 1
    assert "org acme: not synced" in out
    assert "mailsup: error: 1 org(s) not synced (acme)" in err and "run `mailsup check`" in err
    github_double.set_down(None)
    assert cli("--config", gh_ini, "directory", "sync-github", capsys=capsys)[0] == 0


def test_sync_github_progress_only_on_a_terminal(gh_ini):
    code, out, err = on_terminal(mailsup_argv(gh_ini, "directory", "sync-github"))
    assert code == 0, err
    assert "directory sync-github: [1/1] acme" in err and "\r\x1b[K" in err
    assert "[1/1]" not in out
    piped_run = piped(mailsup_argv(gh_ini, "directory", "sync-github"))
    assert piped_run.returncode == 0 and "[1/1]" not in piped_run.stderr
    code, out, err = on_terminal(mailsup_argv(gh_ini, "directory", "sync-github", "--json"))
    assert code == 0 and "[1/1]" not in err


# --- init --------------------------------------------------------------------------

def test_init_refuses_the_packaged_defaults(capsys):
    before = config_mod.PACKAGED.read_text()
    code, _, err = cli("--config", config_mod.PACKAGED, "init", capsys=capsys)
    assert code == 2 and "is mailsup's packaged defaults" in err
    assert "`mailsup init` (./mailsup.ini)" in err
    assert config_mod.PACKAGED.read_text() == before


def test_init_refuses_a_copy_of_the_sample_without_a_secret(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MAILSUP_SECRET", raising=False)
    path = tmp_path / "mailsup.ini"
    path.write_text(config_mod.PACKAGED.read_text())
    code, _, err = cli("--config", path, "init", capsys=capsys)
    assert code == 2 and "looks like a copy of the sample" in err
    assert "run `mailsup init` to write one with a random secret" in err
    assert path.read_text() == config_mod.PACKAGED.read_text()


def test_init_says_to_run_check_next(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli("init", capsys=capsys)
    assert code == 0 and "then run `mailsup check`" in out


def test_the_root_config_is_git_ignored():
    root = config_mod.PACKAGED.parents[1]
    assert "/mailsup.ini" in (root / ".gitignore").read_text().splitlines()


# --- tick --------------------------------------------------------------------------

def test_now_without_offset_names_the_zone_it_used(world, capsys):
    code, _, err = cli("--config", world, "tick", "--now", "2026-11-25T05:00", capsys=capsys)
    assert code == 0
    assert ("--now 2026-11-25T05:00 has no UTC offset; taken as UTC "
            "(2026-11-25T05:00:00+00:00); add +01:00 or Z") in err
    assert "no UTC offset" not in cli("--config", world, "tick", "--now", MORNING,
                                      capsys=capsys)[2]


def test_tick_on_an_empty_directory_says_to_load_it(ini, capsys):
    code, out, err = cli("--config", ini, "tick", "--now", MORNING, capsys=capsys)
    assert code == 0 and "create_sups=0" in out
    assert "the directory is empty, so no SUPs are created" in err
    assert "`mailsup directory load FILE.toml`" in err


def test_tick_on_an_uninitialised_database_leaves_no_file(tmp_path, capsys):
    path = write_config(tmp_path / "mailsup.ini", f"sqlite:///{tmp_path / 'fresh.db'}", None)
    code, _, err = cli("--config", path, "tick", capsys=capsys)
    assert code == 2 and "no database at" in err and "run `mailsup init` first" in err
    assert not (tmp_path / "fresh.db").exists()


@pytest.fixture
def postgres_only(db_url):
    """conftest deselects the SQLite run."""


def test_a_switched_to_postgres_database_says_run_init(postgres_only, tmp_path, db_url, capsys):
    path = write_config(tmp_path / "mailsup.ini", db_url, None)
    code, _, err = cli("--config", path, "sup", "list", capsys=capsys)
    assert code == 2
    assert "postgresql://postgres@127.0.0.1:5432/test has no mailsup tables (a new " \
           "database?); run `mailsup init` to create them" in err


# --- --config typos ------------------------------------------------------------------

def test_a_config_typo_suggests_the_near_name_not_init(ini, capsys):
    (ini.parent / "good.ini").write_text(ini.read_text())
    code, _, err = cli("--config", ini.parent / "goood.ini", "sup", "list", capsys=capsys)
    assert code == 2 and "did you mean" in err and "good.ini" in err
    assert "init" not in err


def test_a_config_path_with_no_near_name(tmp_path, capsys):
    code, _, err = cli("--config", tmp_path / "prod.conf", "sup", "list", capsys=capsys)
    assert code == 2 and "check the path" in err


# --- did you mean, sup list ----------------------------------------------------------

@pytest.mark.parametrize("args, needle", [
    (["sup", "list", "--developer", "alice"], "did you mean alice@example.com (Alice Smith)?"),
    (["sup", "list", "--developer", "Bob"], "did you mean bob@example.com (Bob Jones)?"),
    (["sup", "list", "--developer", "alice@exmple.com"], "did you mean alice@example.com"),
    (["sup", "list", "--client", "Acme Corp"], "did you mean acme (Acme Corp)?"),
    (["sup", "list", "--client", "acmee"], "did you mean acme (Acme Corp)?"),
    (["preview", "--developer", "bob", "--client", "acme"], "did you mean bob@example.com"),
    (["preview", "--developer", "bob@example.com", "--client", "ACME"],
     "did you mean acme (Acme Corp)?"),
])
def test_did_you_mean_for_people_and_clients(world, capsys, args, needle):
    code, _, err = cli("--config", world, *args, capsys=capsys)
    assert code == 2 and needle in err and "`mailsup directory show`" in err


def test_sup_list_has_a_header_and_shows_away(world, capsys):
    cli("--config", world, "tick", "--now", "2026-11-25T12:00:00+00:00", capsys=capsys)
    Sup.update(away=True).where(Sup.id == Sup.select().first().id).execute()
    code, out, _ = cli("--config", world, "sup", "list", capsys=capsys)
    header, *rows = out.splitlines()
    assert header.split() == ["id", "day", "client", "developer", "status", "plan"]
    assert len(rows) == 2 and sum("(away)" in r for r in rows) == 1


# --- preview for HR and digest recipients ----------------------------------------------

@pytest.mark.parametrize("kind, who", [
    ("hr_digest", "hana@example.com"), ("overdue_reviews", "hana@example.com"),
    ("weekly_summary", "dan@example.com"), ("team_digest", "dan@example.com"),
    ("hr_digest", "bob@example.com"),
])
def test_preview_accepts_the_recipient_of_hr_and_digest_mails(world, capsys, kind, who):
    code, out, err = cli("--config", world, "preview", "--kind", kind, "--developer", who,
                         "--client", "acme", "--now", MORNING, capsys=capsys)
    assert code == 0, err
    assert out.startswith("Subject: ")


def test_preview_names_who_may_be_given(world, capsys):
    code, _, err = cli("--config", world, "preview", "--kind", "hr_digest", "--developer",
                       "dan@example.com", "--client", "acme", capsys=capsys)
    assert code == 2 and "is in no team of acme nor its HR worker or management" in err


# --- inbound retry --all ---------------------------------------------------------------

def test_inbound_retry_all(world, capsys):
    from mailsup.inbound.store import store_raw
    from mailsup.models import InboundMessage
    from mailsup.testing import at

    for n in range(3):
        row = store_raw(f"From: x{n}@example.com\nSubject: hi\n\nhello\n".encode(), "cli",
                        at("2026-11-25T05:00")).row
        InboundMessage.update(status="quarantined").where(InboundMessage.id == row.id).execute()
    code, out, err = cli("--config", world, "inbound", "retry", "--all", "--now", MORNING,
                         capsys=capsys)
    assert code == 0, err
    assert len(out.splitlines()) == 3 and "quarantined" not in out
    code, _, err = cli("--config", world, "inbound", "retry", "--all", capsys=capsys)
    assert code == 0 and "no quarantined mail to retry" in err
    code, _, err = cli("--config", world, "inbound", "retry", capsys=capsys)
    assert code == 2 and "give one inbound id or --all" in err


def test_inbound_retry_all_progress_on_a_terminal(world):
    from mailsup.inbound.store import store_raw
    from mailsup.models import InboundMessage, db
    from mailsup.testing import at

    row = store_raw(b"From: x@example.com\nSubject: hi\n\nhello\n", "cli",
                    at("2026-11-25T05:00")).row
    InboundMessage.update(status="quarantined").where(InboundMessage.id == row.id).execute()
    db.close()
    code, out, err = on_terminal(mailsup_argv(world, "inbound", "retry", "--all", "--now",
                                              MORNING))
    assert code == 0, err
    assert "inbound retry: 1/1" in err and "inbound retry:" not in out


def test_tick_progress_on_a_terminal_when_it_takes_long(tmp_path, make_settings):
    """A tick held up (here by a relay that never greets) shows its job; a quick one does not."""
    import socket
    import threading

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    held = []  # the accepted connection stays open and silent
    threading.Thread(target=lambda: held.append(silent.accept()), daemon=True).start()
    try:
        make_settings(silent.getsockname()[1], extra="connect_timeout = 3\n")
        load_directory(tmp_path, TWO_ZONES)
        ini = tmp_path / "mailsup.ini"
        code, _, err = on_terminal(mailsup_argv(ini, "tick", "--now", MORNING))
    finally:
        silent.close()
    assert code == 75
    assert "tick: sending (" in err
    code, _, err = on_terminal(mailsup_argv(ini, "tick", "--now", MORNING, "--json"))
    assert "tick: " not in err


# --- aiosmtpd's chatter --------------------------------------------------------------

@pytest.mark.parametrize("verbose", [False, True])
def test_run_logs_aiosmtpd_connections_only_with_v(tmp_path, make_settings, smtp_sink,
                                                   verbose):
    port = free_port()
    make_settings(smtp_sink.port, extra=f"\n[inbound]\nlisten = 127.0.0.1:{port}\n")
    load_directory(tmp_path, TWO_ZONES)
    argv = mailsup_argv(tmp_path / "mailsup.ini", *(["-v"] if verbose else []), "run",
                        "--no-imap", "--no-web")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=child_env())
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
                    client.sendmail("x@example.com", ["sup@mailsup.test"],
                                    b"From: x@example.com\r\nSubject: hi\r\n\r\nhello\r\n")
                break
            except OSError:
                assert time.monotonic() < deadline, "listener did not start"
                time.sleep(0.2)
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    err = err.decode()
    assert "mailsup running" in err
    assert ("mail.log" in err) == verbose, err
