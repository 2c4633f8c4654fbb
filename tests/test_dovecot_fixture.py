"""The Dovecot test server behaves like the IMAP server the poller will meet."""

from __future__ import annotations

from pathlib import Path

import pytest
from imapclient import IMAPClient

from mailsup.testing import dovecot as dovecot_mod
from mailsup.testing.dovecot import Dovecot, require_dovecot, start_dovecot
from mailsup.testing.services import REQUIRE_SERVICES_ENV, require_service

RAW = (
    b"From: Dev <dev@example.com>\r\n"
    b"To: sup@example.com\r\n"
    b"Subject: SUP 2024-05-02\r\n"
    b"Message-ID: <sup-1@example.com>\r\n"
    b"\r\n"
    b"Yesterday: reviews. Today: IMAP.\r\n"
)


def test_appended_mail_is_fetched_with_peek_and_stays_unseen(dovecot: Dovecot) -> None:
    uid = dovecot.append(RAW)

    with dovecot.connect() as client:
        client.select_folder("INBOX")
        fetched = client.fetch([uid], ["BODY.PEEK[]", "FLAGS"])
        flags_after = client.get_flags([uid])[uid]

    assert fetched[uid][b"BODY[]"] == RAW
    assert b"\\Seen" not in fetched[uid][b"FLAGS"]
    assert b"\\Seen" not in flags_after
    assert dovecot.list_uids() == [uid]


def test_move_to_processed_after_checking_capabilities_after_login(dovecot: Dovecot) -> None:
    uid = dovecot.append(RAW)
    anonymous = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=10)
    assert not anonymous.has_capability("MOVE")  # field notes: only listed after login
    anonymous.logout()

    with dovecot.connect() as client:
        assert client.has_capability("MOVE")
        client.select_folder("INBOX")
        client.move([uid], dovecot.processed_folder)

    assert dovecot.processed_folder == "Processed"
    assert dovecot.list_uids("INBOX") == []
    assert len(dovecot.list_uids(dovecot.processed_folder)) == 1


def test_uidvalidity_is_readable_and_matches_select(dovecot: Dovecot) -> None:
    with dovecot.connect() as client:
        selected = client.select_folder("INBOX", readonly=True)

    assert selected[b"UIDVALIDITY"] == dovecot.uidvalidity("INBOX") > 0


def test_restart_keeps_port_mail_and_uidvalidity(dovecot: Dovecot) -> None:
    first = dovecot.append(RAW)
    port, validity = dovecot.port, dovecot.uidvalidity()

    dovecot.restart()

    assert dovecot.running and dovecot.port == port
    assert dovecot.uidvalidity() == validity
    second = dovecot.append(RAW.replace(b"sup-1@", b"sup-2@"))
    assert dovecot.list_uids() == [first, second]
    assert second > first


def test_processed_folder_name_is_configurable(tmp_path: Path) -> None:
    require_dovecot()
    with start_dovecot(tmp_path, processed_folder="mailsup/processed") as server:
        with server.connect() as client:
            names = {name for _flags, _sep, name in client.list_folders()}
            assert "mailsup/processed" in names
            uid = server.append(RAW)
            client.select_folder("INBOX")
            client.move([uid], server.processed_folder)
        assert len(server.list_uids("mailsup/processed")) == 1


def test_stop_releases_the_port(tmp_path: Path) -> None:
    require_dovecot()
    server = start_dovecot(tmp_path)
    server.stop()

    assert not server.running
    with pytest.raises(OSError):
        server.connect()


def test_missing_service_skips_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_SERVICES_ENV, raising=False)

    with pytest.raises(pytest.skip.Exception, match="apt-get install"):
        require_service("dovecot not installed: apt-get install dovecot-imapd")


def test_missing_service_fails_when_services_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(REQUIRE_SERVICES_ENV, "1")

    with pytest.raises(pytest.fail.Exception, match="postgresql not reachable"):
        require_service("postgresql not reachable")


@pytest.mark.parametrize(("required", "outcome"), [("", "skip"), ("1", "fail")])
def test_fixture_check_without_dovecot_binary(
    monkeypatch: pytest.MonkeyPatch, required: str, outcome: str
) -> None:
    monkeypatch.setattr(dovecot_mod, "find_dovecot", lambda: None)
    monkeypatch.setenv(REQUIRE_SERVICES_ENV, required)
    expected = pytest.skip.Exception if outcome == "skip" else pytest.fail.Exception

    with pytest.raises(expected, match="apt-get install dovecot-imapd"):
        require_dovecot()
