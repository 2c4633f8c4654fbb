"""Two ``mailsup run`` workers on one PostgreSQL serve the same session (design §12).

Pages are stateless: the session is a cookie signed with a key derived from
``[mailsup] secret``, so a sign-in link asked for on one worker can be used on
the other, and the cookie either one sets is accepted by both. Real child
processes, real waitress, the sign-in mail through the outbox to the sink.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mailsup.testing import free_port
from mailsup.testing.config import write_config
from tests.support.world import child_env

DIRECTORY = """
[[people]]
email = "alice@example.com"
name = "Alice Smith"
timezone = "Europe/Berlin"
"""


@pytest.fixture
def postgres_only(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("two workers share a database only on PostgreSQL (design §9)")


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(predicate, what: str, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def mailsup(ini: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "mailsup", "--config", str(ini), *args]


@pytest.fixture
def workers(postgres_only, db_url, smtp_sink, tmp_path):
    """Two `mailsup run` processes, each serving pages on its own port, one database."""
    ports, procs = [free_port(), free_port()], []
    inis = []
    for i, port in enumerate(ports):
        folder = tmp_path / f"worker{i}"
        folder.mkdir()
        inis.append(write_config(folder / "mailsup.ini", db_url, smtp_sink.port, f"""
            [inbound]
            listen =

            [web]
            listen = 127.0.0.1:{port}
            base_url = http://127.0.0.1:{port}
            """))
    subprocess.run(mailsup(inis[0], "init"), check=True, env=child_env(), capture_output=True)
    (tmp_path / "people.toml").write_text(DIRECTORY, encoding="utf-8")
    subprocess.run(mailsup(inis[0], "directory", "load", str(tmp_path / "people.toml")),
                   check=True, env=child_env(), capture_output=True)
    for i, ini in enumerate(inis):
        log = (tmp_path / f"worker{i}.log").open("wb")
        procs.append(subprocess.Popen(mailsup(ini, "run", "--no-imap"), stdout=log,
                                      stderr=subprocess.STDOUT, env=child_env()))
    for port in ports:
        wait_for(lambda port=port: listening(port), f"the pages on port {port}")
    yield [f"http://127.0.0.1:{p}" for p in ports], procs, tmp_path
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def csrf(session, url: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', session.get(url).text).group(1)


def test_two_workers_serve_the_same_session_cookie(workers, smtp_sink):
    import requests

    (first, second), procs, folder = workers
    browser = requests.Session()
    # Ask on the first worker; its outbox sends the mail.
    asked = browser.post(f"{first}/login", data={"email": "alice@example.com",
                                                 "csrf_token": csrf(browser, f"{first}/login")})
    assert asked.status_code == 200
    mail = wait_for(lambda: smtp_sink.to("alice@example.com"), "the sign-in mail")[-1]
    path = re.search(r"http://127\.0\.0\.1:\d+(/login/[A-Za-z0-9_-]+)", mail.text).group(1)
    # Use the link on the second worker, with the CSRF token the first one signed.
    token = csrf(browser, f"{first}/login")
    used = browser.post(f"{second}{path}", data={"csrf_token": token}, allow_redirects=False)
    assert used.status_code == 302, used.text
    for base in (first, second):
        home = browser.get(f"{base}/", allow_redirects=False)
        assert home.status_code == 200 and "Hi Alice" in home.text, base
    # A stranger's cookie jar gets neither.
    assert requests.get(f"{second}/", allow_redirects=False).status_code == 302
    # Both report the same installation-wide figures; the leader counts its ticks.
    assert requests.get(f"{first}/healthz").json() == {"status": "ok", "database": "ok"}
    scraped = [requests.get(f"{base}/metrics").text for base in (first, second)]
    for text in scraped:
        assert 'mailsup_outbound_messages{kind="sign_in",status="sent"} 1.0' in text, text
        assert "mailsup_outbox_depth 0.0" in text and "mailsup_suppressed_answers 0.0" in text
        assert "mailsup_last_tick_timestamp_seconds" in text
        assert 'mailsup_inbound_messages' in text
    assert any('mailsup_ticks_total{result="ok"} 1.0' in text for text in scraped), scraped
    # Signing out on one worker: the cookie it clears is the one both read.
    browser.post(f"{second}/logout", data={"csrf_token": csrf(browser, f"{first}/")})
    assert browser.get(f"{first}/", allow_redirects=False).status_code == 302
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    for i in range(2):
        output = (folder / f"worker{i}.log").read_text(errors="replace")
        assert "Traceback" not in output and "pages on http://" in output, output


def test_mailsup_web_serves_the_pages_alone_and_stops_on_sigterm(tmp_path):
    import requests

    port = free_port()
    ini = write_config(tmp_path / "mailsup.ini", f"sqlite:///{tmp_path / 'm.db'}", None, f"""
        [web]
        listen =
        base_url = http://127.0.0.1:{port}
        """)
    subprocess.run(mailsup(ini, "init"), check=True, env=child_env(), capture_output=True)
    missing = subprocess.run(mailsup(ini, "web"), env=child_env(), capture_output=True,
                             text=True)
    assert missing.returncode == 2 and "[web] listen is empty" in missing.stderr
    proc = subprocess.Popen(mailsup(ini, "web", "--listen", f"127.0.0.1:{port}"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=child_env())
    try:
        wait_for(lambda: listening(port), "mailsup web")
        assert requests.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/login").status_code == 200
        taken = subprocess.run(mailsup(ini, "web", "--listen", f"127.0.0.1:{port}"),
                               env=child_env(), capture_output=True, text=True)
        assert taken.returncode == 2 and "choose another address" in taken.stderr
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=15)[0].decode()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "Traceback" not in output, output
    assert not listening(port)
