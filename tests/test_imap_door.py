"""The IMAP door against a real Dovecot, over SQLite and PostgreSQL.

What matters is the crash-safe contract: every message is stored exactly once,
moved only after its row is committed, never marked \\Seen by us, and a kill or
a dropped connection at any point neither loses mail nor stores it twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mailsup.inbound import runner
from mailsup.inbound.doors import imap as imap_mod
from mailsup.inbound.doors.imap import ImapDoor, PollReport, server_name
from mailsup.models import ImapState, InboundMessage
from mailsup.testing.dovecot import Dovecot, imap_ini, require_dovecot

FAST = {"timeout": 5.0, "idle_timeout": 0.2, "backoff": 0.05, "backoff_max": 0.2,
        "poll_interval": 0.2}


class Killed(BaseException):
    """Stands in for SIGKILL: not an Exception, so nothing in the door catches it."""


def mail(n: int, body: str = "Plan: IMAP door.") -> bytes:
    return (f"From: Dev <dev@example.com>\r\nTo: sup@mailsup.test\r\n"
            f"Subject: Re: [SUP {n}]\r\nMessage-ID: <reply-{n}@example.com>\r\n"
            f"\r\n{body}\r\n").encode()


@pytest.fixture
def door_for(make_settings) -> Iterator[Callable[..., ImapDoor]]:
    """Doors bound to one fresh database; all closed at the end."""
    doors: list[ImapDoor] = []

    def factory(server: Dovecot, folder: str = "INBOX", processed: str | None = None,
                **options: float) -> ImapDoor:
        if not doors:
            factory.settings = make_settings(extra=imap_ini(server, folder, processed))
        door = ImapDoor(factory.settings, **{**FAST, **options})
        doors.append(door)
        return door

    yield factory
    for door in doors:
        door.close()


def flags_in(server: Dovecot, folder: str) -> list[tuple[bytes, ...]]:
    with server.connect() as client:
        client.select_folder(folder, readonly=True)
        return list(client.get_flags(client.search("ALL")).values())


def rows() -> list[InboundMessage]:
    return list(InboundMessage.select().order_by(InboundMessage.id))


def raws() -> list[bytes]:
    """Stored raw messages (PostgreSQL hands blobs back as memoryview)."""
    return [bytes(r.raw) for r in rows()]


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> float:
    """Seconds until ``condition`` held; fails the test after ``seconds``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            pytest.fail(f"condition not met within {seconds}s")
        time.sleep(0.02)
    return time.monotonic() - started


# --- the basic contract ---------------------------------------------------------

def test_poll_stores_once_moves_and_leaves_unseen(dovecot: Dovecot, door_for) -> None:
    uids = [dovecot.append(mail(1)), dovecot.append(mail(2))]
    door = door_for(dovecot)

    report = door.poll_once()

    assert (report.stored, report.duplicates, report.moved) == (2, 0, 2)
    stored = rows()
    assert [bytes(r.raw) for r in stored] == [mail(1), mail(2)]
    assert {(r.source, r.mailbox, r.uid) for r in stored} == {("imap", "INBOX", u) for u in uids}
    assert report.stored_ids == tuple(r.id for r in stored)
    assert ImapState.get(mailbox="INBOX").last_uid == max(uids)
    assert dovecot.list_uids("INBOX") == []
    moved_flags = flags_in(dovecot, dovecot.processed_folder)
    assert len(moved_flags) == 2 and all(b"\\Seen" not in f for f in moved_flags)

    assert door.poll_once() == PollReport()
    assert len(rows()) == 2


def test_identical_bytes_twice_make_one_row_and_both_are_moved(dovecot, door_for) -> None:
    dovecot.append(mail(1))
    dovecot.append(mail(1))

    report = door_for(dovecot).poll_once()

    assert (report.stored, report.duplicates, report.moved) == (1, 1, 2)
    assert len(rows()) == 1
    assert dovecot.list_uids("INBOX") == []


def test_processed_folder_is_created_with_the_servers_separator(dovecot, door_for) -> None:
    dovecot.append(mail(1))

    door_for(dovecot, processed="mailsup/processed").poll_once()

    assert len(dovecot.list_uids("mailsup/processed")) == 1
    assert server_name("mailsup/processed", ".") == "mailsup.processed"
    assert server_name("mailsup/processed", None) == "mailsup/processed"


def test_same_folder_for_both_is_refused(dovecot, door_for) -> None:
    from mailsup.config import ConfigError

    with pytest.raises(ConfigError):
        door_for(dovecot, folder="Processed")


# --- crashes and restarts ----------------------------------------------------------

def test_kill_between_commit_and_move_moves_next_run_without_second_row(
        dovecot, door_for, monkeypatch) -> None:
    dovecot.append(mail(1))
    first = door_for(dovecot)
    with monkeypatch.context() as patch:
        patch.setattr(ImapDoor, "_move", lambda self, uids: _raise_if(uids))
        with pytest.raises(Killed):
            first.poll_once()
    first.drop()  # the "process" died with its connection
    assert len(rows()) == 1 and len(dovecot.list_uids("INBOX")) == 1

    dovecot.append(mail(2))
    report = door_for(dovecot).poll_once()

    assert (report.stored, report.duplicates, report.moved) == (1, 0, 2)
    assert raws() == [mail(1), mail(2)]
    assert dovecot.list_uids("INBOX") == []
    assert len(dovecot.list_uids(dovecot.processed_folder)) == 2


def _raise_if(uids: list[int]) -> int:
    if uids:
        raise Killed
    return 0


def test_uidvalidity_change_neither_loses_nor_reprocesses(dovecot, door_for) -> None:
    with dovecot.connect() as client:
        client.create_folder("sup")
    dovecot.append(mail(1), "sup")
    door = door_for(dovecot, folder="sup")
    assert door.poll_once().stored == 1
    before = dovecot.uidvalidity("sup")

    with dovecot.connect() as client:  # the folder is deleted and made again
        client.delete_folder("sup")
        client.create_folder("sup")
    assert dovecot.uidvalidity("sup") != before
    dovecot.append(mail(1), "sup")  # the same mail seen again, under UID 1 again
    dovecot.append(mail(2), "sup")
    report = door.poll_once()

    assert (report.stored, report.duplicates, report.moved) == (1, 1, 2)
    assert raws() == [mail(1), mail(2)]
    assert {s.uidvalidity for s in ImapState.select()} == {before, dovecot.uidvalidity("sup")}
    assert dovecot.list_uids("sup") == []


def test_reconnects_after_server_restart_between_polls(dovecot, door_for) -> None:
    door = door_for(dovecot)
    door.poll_once()
    dovecot.drop_sessions()
    dovecot.append(mail(1))

    assert door.poll_once().stored == 1
    assert dovecot.list_uids("INBOX") == []


# --- IDLE ----------------------------------------------------------------------------

def run_loop(door: ImapDoor) -> tuple[threading.Event, threading.Thread, list[int]]:
    stop, stored_ids = threading.Event(), []
    thread = threading.Thread(target=door.idle_loop, args=(stop, stored_ids.append),
                              daemon=True)
    thread.start()
    return stop, thread, stored_ids


def stop_loop(stop: threading.Event, thread: threading.Thread) -> float:
    started = time.monotonic()
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    return time.monotonic() - started


def test_idle_loop_wakes_on_append_and_stops_promptly(dovecot, door_for) -> None:
    door = door_for(dovecot)
    stop, thread, stored_ids = run_loop(door)
    try:
        wait_for(lambda: door.client is not None)
        time.sleep(0.3)  # let it settle into IDLE
        dovecot.append(mail(1))
        assert wait_for(lambda: len(stored_ids) == 1, 3) < 2
    finally:
        took = stop_loop(stop, thread)
    assert took < 1.0
    assert [r.id for r in rows()] == stored_ids
    assert dovecot.list_uids("INBOX") == []


def test_mail_announced_during_a_poll_is_not_slept_on(dovecot, door_for, monkeypatch) -> None:
    """The server may report new mail inside our own commands; IDLE won't repeat it."""
    door = door_for(dovecot, idle_renew=600)
    real = imap_mod.stored_uids
    arrived = threading.Event()

    def arrive_mid_poll(*args):
        if not arrived.is_set():
            arrived.set()
            dovecot.append(mail(1))
            door.client.noop()  # the "* 1 EXISTS" is consumed here, before IDLE
        return real(*args)

    monkeypatch.setattr(imap_mod, "stored_uids", arrive_mid_poll)
    stop, thread, stored_ids = run_loop(door)
    try:
        wait_for(lambda: len(stored_ids) == 1, 3)
    finally:
        stop_loop(stop, thread)


def test_idle_loop_survives_a_server_restart_while_idling(dovecot, door_for) -> None:
    door = door_for(dovecot)
    stop, thread, stored_ids = run_loop(door)
    try:
        wait_for(lambda: door.client is not None)
        time.sleep(0.3)
        connected = door.client
        dovecot.drop_sessions()
        dovecot.append(mail(1))
        # The door reconnects after its back-off (at most 0.2 s here); a stale
        # Maildir lock left by the killed sessions would stall it (Dovecot
        # ._clear_dead_dotlocks), so this also checks the test server's restart.
        wait_for(lambda: len(stored_ids) == 1, 5)
        assert door.client is not connected  # a fresh client, not the dead one
    finally:
        stop_loop(stop, thread)
    assert len(rows()) == 1
    assert dovecot.list_uids("INBOX") == []


def test_loop_without_idle_polls(dovecot, door_for) -> None:
    door = door_for(dovecot, use_idle=False)
    stop, thread, stored_ids = run_loop(door)
    try:
        time.sleep(0.1)
        dovecot.append(mail(1))
        wait_for(lambda: len(stored_ids) == 1, 3)
    finally:
        assert stop_loop(stop, thread) < 1.0


# --- a server without MOVE ---------------------------------------------------------------

class NoMoveDovecot(Dovecot):
    """Dovecot advertising neither MOVE (so COPY + \\Deleted + UID EXPUNGE is used)."""

    def _config_text(self) -> str:
        return super()._config_text() + "imap_capability = IMAP4rev1 IDLE UIDPLUS NAMESPACE\n"


@pytest.fixture
def no_move_dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    require_dovecot()
    server = NoMoveDovecot(tmp_path / "dovecot-nomove").start()
    try:
        yield server
    finally:
        server.stop()


def test_without_move_copies_flags_and_uid_expunges(no_move_dovecot, door_for,
                                                    monkeypatch) -> None:
    server = no_move_dovecot
    server.append(mail(1))
    door = door_for(server)
    with monkeypatch.context() as patch:  # killed between +FLAGS \Deleted and UID EXPUNGE
        patch.setattr(imap_mod.IMAPClient, "uid_expunge", lambda self, uids: _raise_if(uids))
        with pytest.raises(Killed):
            door.poll_once()
    door.drop()
    assert not door.can(b"MOVE")

    # an unrelated message someone else marked \Deleted must survive our expunge
    other = server.append(mail(9), flags=[b"\\Deleted"])
    server.append(mail(2))
    report = door.poll_once()

    assert (report.stored, report.duplicates, report.moved) == (1, 0, 1)
    assert raws() == [mail(1), mail(2)]
    assert server.list_uids("INBOX") == [other]
    assert len(server.list_uids(server.processed_folder)) == 2
    assert door.poll_once() == PollReport()  # now below our last UID, still not ours
    assert server.list_uids("INBOX") == [other]


# --- security modes (no TLS server here: check what is asked of imapclient) -----------------

@pytest.mark.parametrize("security, ssl, starttls", [
    ("none", False, False), ("starttls", False, True), ("tls", True, False)])
def test_security_modes(make_settings, monkeypatch, security, ssl, starttls) -> None:
    calls: list[tuple] = []

    class FakeClient:
        def __init__(self, host, port, ssl, timeout):
            calls.append(("open", host, port, ssl))

        def starttls(self):
            calls.append(("starttls",))

        def login(self, user, password):
            calls.append(("login", user, password))

    monkeypatch.setattr(imap_mod, "IMAPClient", FakeClient)
    settings = make_settings(extra=f"""
        [imap]
        host = mail.example
        port = 993
        security = {security}
        username = u
        password = p
        """)

    imap_mod.open_client(settings, timeout=1)

    assert calls[0] == ("open", "mail.example", 993, ssl)
    assert (("starttls",) in calls) == starttls
    assert calls[-1] == ("login", "u", "p")


# --- hand-off to the pipeline ---------------------------------------------------------------

def test_idle_loop_hands_new_rows_to_the_pipeline(dovecot, door_for) -> None:
    from datetime import UTC, datetime

    door = door_for(dovecot)
    stop = threading.Event()
    processed: list[int] = []

    def on_stored(row_id: int) -> None:
        done = runner.process_pending(door.settings, datetime.now(UTC))
        processed.extend(ctx.row.id for ctx in done)

    thread = threading.Thread(target=door.idle_loop, args=(stop, on_stored), daemon=True)
    thread.start()
    try:
        dovecot.append(mail(1))
        wait_for(lambda: len(processed) == 1, 3)
    finally:
        stop_loop(stop, thread)
    assert InboundMessage.get_by_id(processed[0]).status != "new"
