"""Bad input gives one clear line on stderr, a non-zero exit, and no change."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from mailsup.cli import main
from mailsup.testing.config import write_config
from tests.support.directory_samples import TWO_ZONES


def run(*args, cwd):
    proc = subprocess.run([sys.executable, "-m", "mailsup", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def initialised(tmp_path, db_url):
    write_config(tmp_path / "mailsup.ini", db_url, None)
    code, out, err = run("init", cwd=tmp_path)
    assert code == 0, err
    return tmp_path


def dump(cwd, capsys):
    """What the operator would see (directory show, sup list --json), before and after.

    Read in this process: only the refused command under test needs to be a real
    child (its exit code and stderr are the point); a child per snapshot cost
    ~1 s each on a loaded machine and observed nothing more.
    """
    capsys.readouterr()
    here = os.getcwd()
    os.chdir(cwd)  # like the child, find ./mailsup.ini
    try:
        shown = [(main(list(args)), capsys.readouterr())
                 for args in (["directory", "show"], ["sup", "list", "--json"])]
    finally:
        os.chdir(here)
    assert [code for code, _ in shown] == [0, 0], shown
    return "".join(captured.out for _, captured in shown)


def assert_one_line_error(code, err, *needles):
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mailsup: error:")
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize("bad, needles", [
    (TWO_ZONES.replace("America/New_York", "America/Gotham"), ["America/Gotham", "bob@"]),
    (TWO_ZONES.replace('members = ["alice@example.com", "bob@example.com"]',
                       'members = ["alice@example.com", "zed@example.com"]'),
     ["zed@example.com", "not in [[people]]"]),
    (TWO_ZONES + "\n[[people]\nemail = broken", ["malformed TOML"]),
    (TWO_ZONES.replace('"mon","tue"', '"mon"').replace(
        'timezone = "Europe/Berlin"\nholiday_country = "DE"',
        'timezone = "Europe/Berlin"\nholiday_country = "XX"'), ["XX"]),
    (TWO_ZONES.replace('leave = [["2026-12-01", "2026-12-02"]]',
                       'leave = [["2026-12-01", "2026-13-02"]]'), ["2026-13-02"]),
], ids=["timezone", "member", "toml", "holidays", "leave"])
def test_bad_directory_changes_nothing(initialised, bad, needles, capsys):
    good = initialised / "good.toml"
    good.write_text(TWO_ZONES.replace("Alice Smith", "Alice S"))
    assert run("directory", "load", str(good), cwd=initialised)[0] == 0
    before = dump(initialised, capsys)
    assert "alice@example.com" in before  # a snapshot with something in it
    path = initialised / "bad.toml"
    path.write_text(bad)
    code, _, err = run("directory", "load", str(path), cwd=initialised)
    assert_one_line_error(code, err, *needles)
    assert dump(initialised, capsys) == before


def latin1_file(root):
    path = root / "latin1.toml"
    path.write_bytes(b'[[people]]\nname = "J\xf6rg"\n')
    return path


@pytest.mark.parametrize("make, needles", [
    (lambda root: root, ["is a folder", "directory.toml"]),
    (latin1_file, ["not UTF-8", "save it as UTF-8"]),
], ids=["a-folder", "not-utf8"])
def test_a_directory_file_that_is_no_file_is_one_line(initialised, make, needles):
    """A folder given by mistake, or a file saved in Latin-1: no traceback (stop 20)."""
    code, _, err = run("directory", "load", str(make(initialised)), cwd=initialised)
    assert_one_line_error(code, err, *needles)


def test_directory_load_is_idempotent_and_updates(initialised, capsys):
    path = initialised / "dir.toml"
    path.write_text(TWO_ZONES)
    assert run("directory", "load", str(path), cwd=initialised)[0] == 0
    before = dump(initialised, capsys)
    code, out, _ = run("directory", "load", str(path), cwd=initialised)
    assert code == 0 and "unchanged" in out
    assert dump(initialised, capsys) == before
    path.write_text(TWO_ZONES.replace("America/New_York", "America/Chicago")
                    .replace('aliases = ["alice@home.example"]', "aliases = []"))
    code, out, _ = run("directory", "load", str(path), cwd=initialised)
    assert code == 0 and "person bob@example.com" in out
    shown = run("directory", "show", cwd=initialised)[1]
    assert "America/Chicago" in shown and "alice@home.example" not in shown


def test_missing_config_key(tmp_path):
    (tmp_path / "mailsup.ini").write_text("[mailsup]\ndatabase = sqlite:///x.db\n"
                                          "reply_address = sup@example.com\n")
    code, _, err = run("tick", cwd=tmp_path)
    assert_one_line_error(code, err, "secret")
    assert not (tmp_path / "x.db").exists()


def test_missing_config_file(tmp_path):
    code, _, err = run("sup", "list", cwd=tmp_path)
    assert_one_line_error(code, err, "mailsup init")


@pytest.mark.parametrize("args, needle", [
    (["tick", "--now", "tomorrow"], "ISO 8601"),
    (["sup", "list", "--since", "2026-02-30"], "--since"),
    (["sup", "show", "999"], "no SUP with id 999"),
    (["preview", "--developer", "nobody@example.com", "--client", "acme"], "unknown developer"),
])
def test_bad_arguments(initialised, args, needle):
    code, _, err = run(*args, cwd=initialised)
    assert_one_line_error(code, err, needle)


def test_bad_schedule_value(tmp_path):
    (tmp_path / "mailsup.ini").write_text("[mailsup]\ndatabase = sqlite:///x.db\n"
                                          "secret = long-enough-secret-Vq3xT8mKp2Lw9Zr4\n"
                                          "reply_address = sup@example.com\n"
                                          "[schedule]\nnag_time = 9.30\n")
    code, _, err = run("init", cwd=tmp_path)
    assert_one_line_error(code, err, "nag_time", "HH:MM")


def test_env_secret_overrides_file(tmp_path, monkeypatch):
    from mailsup import config

    (tmp_path / "m.ini").write_text("[mailsup]\ndatabase = sqlite:///x.db\n"
                                    "reply_address = sup@example.com\n")
    monkeypatch.setenv("MAILSUP_SECRET", "from-env-Vq3xT8mKp2Lw9Zr4Hn6Bd0Yc")
    settings = config.load(str(tmp_path / "m.ini"))
    assert settings.secret == "from-env-Vq3xT8mKp2Lw9Zr4Hn6Bd0Yc"
    assert settings.database == f"sqlite:///{tmp_path / 'x.db'}"


def test_the_packaged_sample_is_the_one_copy_of_the_defaults(tmp_path):
    """Defaults live only in mailsup/mailsup.ini: read first, every key commented."""
    from pathlib import Path

    from mailsup import config as config_mod

    root = Path(__file__).resolve().parents[1]
    assert not (root / "mailsup.ini").exists(), "a second copy at the root would drift"
    assert not hasattr(config_mod, "DEFAULTS")
    lines = config_mod.PACKAGED.read_text().splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith(";"):
            assert ";" in line or lines[i - 1].lstrip().startswith(";"), f"no comment: {line}"
    # A file with only a secret gets every packaged value.
    path = tmp_path / "mailsup.ini"
    path.write_text("[mailsup]\nsecret = long-enough-secret-Vq3xT8mKp2Lw9Zr4\n", encoding="utf-8")
    settings = config_mod.load(str(path))
    packaged = config_mod.defaults()
    assert settings.smtp.port == int(packaged["smtp"]["port"])
    assert settings.schedule.nag_time.strftime("%H:%M") == packaged["schedule"]["nag_time"]
    assert settings.reply_address == packaged["mailsup"]["reply_address"]


@pytest.mark.parametrize("web, needles", [
    ("listen = localhost", ["[web] listen", "HOST:PORT"]),
    ("listen = 127.0.0.1:99999", ["[web] listen", "HOST:PORT"]),
    ("base_url = sup.example.com", ["[web] base_url", "https://"]),
    ("listen = 127.0.0.1:8080\nbase_url =", ["[web] listen needs base_url"]),
    ("sign_in_mails_per_ip = many", ["sign_in_mails_per_ip", "whole number"]),
], ids=["no-port", "bad-port", "no-scheme", "no-base-url", "not-a-number"])
def test_bad_web_settings(tmp_path, web, needles):
    (tmp_path / "mailsup.ini").write_text("[mailsup]\ndatabase = sqlite:///x.db\n"
                                          "secret = long-enough-secret-Vq3xT8mKp2Lw9Zr4\n"
                                          f"[web]\n{web}\n")
    code, _, err = run("init", cwd=tmp_path)
    assert_one_line_error(code, err, *needles)


def test_web_settings_from_the_packaged_defaults(tmp_path):
    from mailsup import config as config_mod

    path = tmp_path / "mailsup.ini"
    path.write_text("[mailsup]\nsecret = long-enough-secret-Vq3xT8mKp2Lw9Zr4\n", encoding="utf-8")
    web = config_mod.load(str(path)).web
    assert (web.listen, web.base_url, web.secure) == ("127.0.0.1:8080", "http://localhost:8080",
                                                      False)
    assert (web.session_days, web.sign_in_mails_per_address, web.sign_in_mails_per_ip) == (
        14, 5, 20)


@pytest.mark.parametrize("secret", ["change-me", "short"])
def test_placeholder_secret_is_refused(tmp_path, secret):
    (tmp_path / "mailsup.ini").write_text(f"[mailsup]\ndatabase = sqlite:///x.db\n"
                                          f"secret = {secret}\nreply_address = sup@example.com\n")
    code, _, err = run("init", cwd=tmp_path)
    assert_one_line_error(code, err, "secret")


def test_config_path_is_a_directory(tmp_path):
    code, _, err = run("--config", str(tmp_path), "sup", "list", cwd=tmp_path)
    assert_one_line_error(code, err, "is a directory")


def test_init_writes_a_private_config(tmp_path):
    code, _, err = run("init", cwd=tmp_path)
    assert code == 0, err
    assert (tmp_path / "mailsup.ini").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("bad, needle", [
    (TWO_ZONES.replace("timezone = \"America/New_York\"", "timzone = \"America/New_York\""),
     "did you mean timezone"),
    (TWO_ZONES.replace("[[repos]]", "[[repo]]"), "unknown table [[repo]]"),
    (TWO_ZONES.replace('aliases = ["alice@home.example"]', 'aliases = ["bob@example.com"]'),
     "bob@example.com appears twice"),
], ids=["key typo", "table typo", "alias clash"])
def test_directory_typos_are_refused(initialised, bad, needle):
    path = initialised / "bad.toml"
    path.write_text(bad)
    code, _, err = run("directory", "load", str(path), cwd=initialised)
    assert_one_line_error(code, err, needle)


def test_directory_reports_first_additions_to_sets(initialised):
    path = initialised / "dir.toml"
    path.write_text(TWO_ZONES)
    run("directory", "load", str(path), cwd=initialised)
    path.write_text(TWO_ZONES.replace('github = "bobj"', 'github = "bobj"\n'
                                      'leave = [["2026-12-07", "2026-12-08"]]'))
    code, out, _ = run("directory", "load", str(path), cwd=initialised)
    assert code == 0 and "leave of bob@example.com" in out


def test_sup_list_unknown_filters(initialised):
    code, _, err = run("sup", "list", "--developer", "nobody@example.com", cwd=initialised)
    assert_one_line_error(code, err, "unknown developer")


def test_a_tick_days_from_the_clock_says_its_mail_is_real(tmp_path, db_url, smtp_sink):
    """`tick --now 1999-…` with a relay makes that day's records and sends its mail: a
    new user trying a day should be told (stop 20); near the clock nothing is said."""
    write_config(tmp_path / "mailsup.ini", db_url, smtp_sink.port)
    assert run("init", cwd=tmp_path)[0] == 0
    code, _, err = run("tick", "--now", "1999-01-01T06:00:00Z", cwd=tmp_path)
    assert code == 0 and "Traceback" not in err
    assert "days before this machine's clock" in err and "mailsup preview" in err
    near = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    code, _, err = run("tick", "--now", near, cwd=tmp_path)
    assert code == 0 and "machine's clock" not in err


def test_an_empty_inbound_list_says_so(initialised):
    """Like `outbox list` and `sup list` (a new user saw nothing at all, stop 20)."""
    code, out, err = run("inbound", "list", cwd=initialised)
    assert code == 0 and out == "" and "no inbound messages match" in err
    code, _, err = run("inbound", "list", "--status", "quarantined", cwd=initialised)
    assert code == 0 and "no inbound messages match --status quarantined" in err
