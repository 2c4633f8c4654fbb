"""``mailsup check`` against the suite's real servers: a relay with AUTH, Dovecot, the doubles.

All ✓ on a good configuration; exactly one ✗, with what to do, for each thing
an operator gets wrong in the first week.
"""

from __future__ import annotations

import json
import socket
import textwrap
import threading

import pytest

from mailsup.cli import main
from mailsup.models import OutboundMessage, db
from mailsup.testing import free_port
from mailsup.testing.config import write_config
from mailsup.testing.dovecot import imap_ini
from mailsup.testing.sink import SinkHandler, SmtpSink

RELAY_USER, RELAY_PASSWORD = "mailsup", "relay-pass"


class DeliveringHandler(SinkHandler):
    """A relay that also delivers the reply domain's mail to the Dovecot mailbox (the MX)."""

    def __init__(self, dovecot):
        super().__init__()
        self.dovecot = dovecot

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        if any(r.endswith("@mailsup.test") for r in envelope.rcpt_tos):
            self.dovecot.append(envelope.original_content or envelope.content)
        return answer


@pytest.fixture
def relay():
    sink = SmtpSink(free_port(), users={RELAY_USER: RELAY_PASSWORD})
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def good(tmp_path, db_url, relay, dovecot, github_double, slack_double):
    """A deployment where every part is configured and works; returns a writer of variants."""
    github_double.scopes = "repo, read:org"

    def write(*, smtp_port=None, password=RELAY_PASSWORD, folder="INBOX", github_scopes=None,
              init=True):
        if github_scopes is not None:
            github_double.scopes = github_scopes
        extra = (f"username = {RELAY_USER}\npassword = {password}\nconnect_timeout = 2\n"
                 + textwrap.dedent(imap_ini(dovecot, folder=folder))
                 + f"\n[github]\ntoken = test-token\nbase_url = {github_double.base_url}\n"
                 f"\n[slack]\ntoken = {slack_double.token}\nbase_url = {slack_double.base_url}\n")
        path = write_config(tmp_path / "mailsup.ini", db_url, smtp_port or relay.port, extra)
        if init:
            assert main(["--config", str(path), "init"]) == 0
        return path
    yield write
    if db.obj is not None and not db.obj.is_closed():
        db.obj.close()


def check(path, *args, capsys):
    code = main(["--config", str(path), "check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def fails(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("✗")]


def test_every_part_passes_on_a_good_config(good, capsys):
    path = good()
    capsys.readouterr()
    code, out, err = check(path, capsys=capsys)
    assert code == 0, out
    assert fails(out) == []
    for part in ("database", "relay", "imap", "imap folder", "imap processed_folder",
                 "reply address", "github", "slack"):
        assert any(line.startswith(f"✓ {part}:") for line in out.splitlines()), (part, out)
    assert "logged in as mailsup" in out and "scopes read:org, repo" in out
    assert "all configured parts work" in err


def test_json_lists_every_check(good, capsys):
    path = good()
    capsys.readouterr()
    code, out, _ = check(path, "--json", capsys=capsys)
    data = json.loads(out)
    assert code == 0 and data["ok"] is True
    assert {c["part"] for c in data["checks"]} >= {"database", "relay", "imap", "github", "slack"}
    assert {c["status"] for c in data["checks"]} == {"ok"}


def test_wrong_relay_password(good, capsys):
    path = good(password="wrong")
    capsys.readouterr()
    code, out, _ = check(path, capsys=capsys)
    assert code == 1
    (line,) = fails(out)
    assert line.startswith("✗ relay:")
    assert "refused the login of 'mailsup'" in line and "check [smtp] username and password" \
        in line


def test_missing_imap_folder(good, capsys):
    path = good(folder="Replies")
    capsys.readouterr()
    code, out, _ = check(path, capsys=capsys)
    assert code == 1
    (line,) = fails(out)
    assert line.startswith("✗ imap folder:") and "'Replies' does not exist" in line
    assert "`mailsup check --create-folders`" in line
    # With consent the folder is made, and the next check passes.
    code, out, _ = check(path, "--create-folders", capsys=capsys)
    assert code == 0 and "'Replies' created" in out
    assert check(path, capsys=capsys)[0] == 0


def test_unreachable_relay(good, capsys):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    path = good(smtp_port=port)
    capsys.readouterr()
    code, out, _ = check(path, capsys=capsys)
    assert code == 1
    (line,) = fails(out)
    assert line.startswith("✗ relay:") and f"cannot connect to 127.0.0.1:{port}" in line
    assert "check [smtp] host and port" in line


def test_a_port_that_never_greets_fails_within_connect_timeout(good, capsys):
    """A port speaking another protocol (here: silence) costs connect_timeout, not 30 s."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held = []
    threading.Thread(target=lambda: held.append(listener.accept()), daemon=True).start()
    try:
        path = good(smtp_port=listener.getsockname()[1])
        capsys.readouterr()
        code, out, _ = check(path, capsys=capsys)
    finally:
        listener.close()
    (line,) = fails(out)
    assert code == 1 and "no SMTP greeting" in line and "within 2s" in line


def test_github_token_without_the_needed_scope(good, capsys):
    path = good(github_scopes="repo")
    capsys.readouterr()
    code, out, _ = check(path, capsys=capsys)
    assert code == 1
    (line,) = fails(out)
    assert line.startswith("✗ github:") and "lacks scope read:org (has: repo)" in line
    assert "directory sync-github" in line and "add it to the token" in line


def test_broader_github_scope_grants_the_narrower(good, capsys):
    path = good(github_scopes="repo, admin:org")
    capsys.readouterr()
    assert check(path, capsys=capsys)[0] == 0


def test_wrong_github_and_slack_tokens(good, capsys, tmp_path):
    path = good()
    text = path.read_text().replace("token = test-token", "token = stale")
    text = text.replace("[slack]\ntoken = ", "[slack]\ntoken = x")
    path.write_text(text)
    capsys.readouterr()
    code, out, _ = check(path, capsys=capsys)
    lines = fails(out)
    assert code == 1 and len(lines) == 2, out
    assert "refused the token (401 Bad credentials)" in lines[0]
    assert "Slack refused the token (invalid_auth)" in lines[1]


def test_uninitialised_database(good, capsys, db_url, tmp_path):
    path = good(init=False)
    code, out, _ = check(path, capsys=capsys)
    (line,) = fails(out)
    assert code == 1 and line.startswith("✗ database:") and "run `mailsup init`" in line
    if db_url.startswith("sqlite"):
        assert not (tmp_path / "mailsup.db").exists()  # checking created nothing


def test_send_to_goes_through_the_outbox_and_comes_back(good, relay, dovecot, capsys):
    relay.handler = DeliveringHandler(dovecot)
    relay.stop()
    relay.start()
    path = good()
    capsys.readouterr()
    code, out, _ = check(path, "--send-to", "ops@example.net", "--wait", "10", capsys=capsys)
    assert code == 0, out
    assert "✓ test mail: outbox" in out and "✓ round trip:" in out
    (mail,) = relay.to("ops@example.net")
    assert "mailsup check --send-to ops@example.net" in mail.text
    assert any(r.startswith("sup+check-") for r in mail.rcpt_tos)
    assert dovecot.list_uids("INBOX") == []  # the copy was removed again
    (row,) = OutboundMessage.select().where(OutboundMessage.kind == "check")
    assert row.status == "sent"


def test_send_to_with_the_relay_down_says_so(good, relay, capsys):
    path = good()
    relay.stop()
    capsys.readouterr()
    code, out, _ = check(path, "--send-to", "ops@example.net", capsys=capsys)
    assert code == 1
    assert any(line.startswith("✗ test mail: outbox") and "mailsup outbox show" in line
               for line in fails(out)), out


@pytest.fixture
def tls_relay(tmp_path, monkeypatch):
    """A relay offering STARTTLS with a certificate for 127.0.0.1 that this host trusts."""
    import ssl
    import subprocess

    cert, key = tmp_path / "relay.crt", tmp_path / "relay.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client's trust store: this cert
    sink = SmtpSink(free_port(), users={RELAY_USER: RELAY_PASSWORD}, tls_context=context)
    sink.start()
    yield sink
    sink.stop()


@pytest.mark.parametrize("security, needle", [
    ("starttls", "✓ relay: 127.0.0.1:{port} answered (starttls), STARTTLS done, logged in as "
                 "mailsup"),
    ("tls", "✗ relay: TLS with 127.0.0.1:{port} failed"),
])
def test_relay_starttls_and_a_tls_mismatch(tmp_path, sqlite_path, tls_relay, capsys,
                                           security, needle):
    path = write_config(tmp_path / "mailsup.ini", sqlite_path, tls_relay.port,
                        f"username = {RELAY_USER}\npassword = {RELAY_PASSWORD}\n"
                        "connect_timeout = 2\n")
    path.write_text(path.read_text().replace("security = none", f"security = {security}"))
    assert main(["--config", str(path), "init"]) == 0
    capsys.readouterr()
    code, out, _ = check(path, capsys=capsys)
    assert needle.format(port=tls_relay.port) in out, out
    assert code == (0 if security == "starttls" else 1)


@pytest.fixture
def sqlite_path(db_url):
    """One database is enough for the TLS handshake: conftest deselects the other."""
    return db_url
