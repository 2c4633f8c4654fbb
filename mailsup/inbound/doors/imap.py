"""The IMAP door (imapclient): store every message, then move it out of the way.

Crash-safe order per message (field notes, "IMAP"): UID SEARCH → fetch with
``BODY.PEEK[]`` (never sets ``\\Seen``, so a person looking at the mailbox sees
what mailsup has not yet taken) → ``store_raw`` commits the row and the last
UID together → only then MOVE to the processed folder. A kill between the
commit and the MOVE leaves the message in the folder with its row stored; the
next poll moves it without a second row (``store_raw`` dedupes by content
hash, and leftovers already stored under their UID are moved without a fetch).

State is keyed on (folder, UIDVALIDITY): when a folder is recreated its UIDs
restart at 1, so everything in it is looked at again, and the content hash
(plus the pipeline's Message-ID check) makes a re-seen message a no-op.

IDLE is only a wake-up: after every (re)connect and every wake-up the door does
a full UID search. This door never processes mail; the pipeline does, via the
``on_stored`` hook or its own schedule.
"""

from __future__ import annotations

import imaplib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from imapclient import IMAPClient
from peewee import DatabaseError

from mailsup.clock import utc_now
from mailsup.config import ConfigError, Settings
from mailsup.inbound.store import last_uid, store_raw
from mailsup.models import InboundMessage, db

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
OnStored = Callable[[int], None]

DELETED = b"\\Deleted"
CONFIG_SEPARATOR = "/"

# After these the connection is unusable: throw the client away.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (imaplib.IMAP4.abort, OSError)
# After these the loop backs off and starts over with a fresh client. imapclient's
# own errors are subclasses of IMAP4.error; a database outage must not end the loop.
RECOVERABLE_ERRORS: tuple[type[BaseException], ...] = (
    imaplib.IMAP4.error, OSError, DatabaseError,
)


@dataclass(frozen=True)
class PollReport:
    """What one poll did; ``stored_ids`` are the rows created (for ``on_stored``)."""

    stored: int = 0
    duplicates: int = 0
    moved: int = 0
    stored_ids: tuple[int, ...] = ()

    def __add__(self, other: PollReport) -> PollReport:
        return PollReport(self.stored + other.stored, self.duplicates + other.duplicates,
                          self.moved + other.moved, self.stored_ids + other.stored_ids)


# --- plain helpers -----------------------------------------------------------

def server_name(name: str, separator: str | None) -> str:
    """A configured folder name ("mailsup/processed") in the server's hierarchy syntax.

    The ini file always writes hierarchy with "/" so it reads the same whatever
    server sits behind it; servers that use "." get "mailsup.processed".
    """
    if not separator or separator == CONFIG_SEPARATOR:
        return name
    return name.replace(CONFIG_SEPARATOR, separator)


def hierarchy_separator(client: IMAPClient) -> str | None:
    """The separator from ``LIST "" ""`` (RFC 3501: the one call every server answers)."""
    listed = client.list_folders("", "")
    if not listed or not listed[0][1]:
        return None  # a flat server: names are taken as they are
    separator = listed[0][1]
    return separator.decode() if isinstance(separator, bytes) else separator


def ensure_folder(client: IMAPClient, name: str) -> None:
    """Create ``name`` unless it exists; servers create the missing parents (RFC 3501).

    A second door racing us to create it is fine: the create fails, the folder exists.
    """
    if client.folder_exists(name):
        return
    try:
        client.create_folder(name)
        log.info("created IMAP folder %r", name)
    except imaplib.IMAP4.error:
        if not client.folder_exists(name):
            raise


def chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def stored_uids(folder: str, uidvalidity: int, uids: Iterable[int]) -> set[int]:
    """Which of these UIDs already have a row (stored, then killed before the MOVE)."""
    wanted = list(uids)
    if not wanted:
        return set()
    query = (InboundMessage.select(InboundMessage.uid)
             .where((InboundMessage.mailbox == folder)
                    & (InboundMessage.uidvalidity == uidvalidity)
                    & (InboundMessage.uid.in_(wanted))))
    return {row.uid for row in query}


def open_client(settings: Settings, timeout: float) -> IMAPClient:
    """A connected, logged-in client with the security the ini file asks for."""
    imap = settings.imap
    client = IMAPClient(imap.host, port=imap.port, ssl=imap.security == "tls",
                        timeout=timeout)
    try:
        if imap.security == "starttls":
            client.starttls()  # imapclient's default context verifies the certificate
        client.login(imap.username, imap.password)
    except BaseException:
        discard(client)
        raise
    return client


def discard(client: IMAPClient | None) -> None:
    """Drop a client without a LOGOUT round trip; it may already be dead."""
    if client is None:
        return
    try:
        client.shutdown()
    except Exception:  # noqa: BLE001 - a dead socket is what we are getting rid of
        pass


def _is_keepalive(response: object) -> bool:
    """Dovecot's "* OK Still here" during IDLE: no reason to search."""
    return isinstance(response, tuple) and bool(response) and response[0] == b"OK"


# --- the door ----------------------------------------------------------------

class ImapDoor:
    """One IMAP connection watching ``[imap] folder``; not shared between threads.

    Delays are parameters so tests need not wait: ``idle_timeout`` bounds how
    long ``stop`` may go unnoticed, ``idle_renew`` re-issues IDLE well before
    the 29 minutes of RFC 2177, ``poll_interval`` is for servers without IDLE,
    and ``backoff``/``backoff_max`` space out reconnects after errors.
    ``use_idle=False`` polls even where IDLE is offered (for servers whose IDLE
    is known to be unreliable).
    """

    def __init__(self, settings: Settings, clock: Clock = utc_now, *,
                 timeout: float = 30.0, idle_timeout: float = 30.0,
                 idle_renew: float = 600.0, poll_interval: float = 60.0,
                 backoff: float = 1.0, backoff_max: float = 60.0, batch_size: int = 20,
                 use_idle: bool = True):
        if settings.imap.folder == settings.imap.processed_folder:
            raise ConfigError("[imap] folder and processed_folder must differ")
        self.settings = settings
        self.clock = clock
        self.timeout = timeout
        self.idle_timeout = idle_timeout
        self.idle_renew = idle_renew
        self.poll_interval = poll_interval
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.batch_size = batch_size
        self.use_idle = use_idle
        self.client: IMAPClient | None = None
        self.capabilities: frozenset[bytes] = frozenset()
        self.folder = settings.imap.folder
        self.processed_folder = settings.imap.processed_folder
        self._selected: tuple[int, int] = (0, 0)  # (UIDVALIDITY, UIDNEXT) at the last poll

    # -- connection ------------------------------------------------------------

    def connect(self) -> None:
        """(Re)connect, read capabilities after login, and make the processed folder."""
        self.drop()
        client = open_client(self.settings, self.timeout)
        try:
            # Before login servers hide MOVE and UIDPLUS (field notes): ask now.
            self.capabilities = frozenset(c.upper() for c in client.capabilities())
            separator = hierarchy_separator(client)
            self.folder = server_name(self.settings.imap.folder, separator)
            self.processed_folder = server_name(self.settings.imap.processed_folder, separator)
            ensure_folder(client, self.processed_folder)
        except BaseException:
            discard(client)
            raise
        self.client = client
        if not self.can(b"MOVE") and not self.can(b"UIDPLUS"):
            log.warning("IMAP server has neither MOVE nor UIDPLUS: processed messages stay "
                        "in %r flagged \\Deleted for the mail admin to expunge", self.folder)
        log.info("IMAP connected to %s:%d, watching %r (IDLE %s)", self.settings.imap.host,
                 self.settings.imap.port, self.folder, "yes" if self.can(b"IDLE") else "no")

    def can(self, capability: bytes) -> bool:
        return capability in self.capabilities

    def drop(self) -> None:
        """Throw the client away (after an error: a half-read response poisons it)."""
        client, self.client = self.client, None
        discard(client)

    def close(self) -> None:
        """Log out politely; never raises."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # noqa: BLE001 - closing a broken connection is still closing
            discard(client)

    # -- polling -----------------------------------------------------------------

    def poll_once(self) -> PollReport:
        """Store and move everything in the folder; reconnect once if the link is stale.

        A connection that sat idle between polls is often gone (server autologout,
        NAT timeouts); one retry on a fresh client hides that. Everything is
        idempotent, so redoing part of a poll is harmless.
        """
        if self.client is None:
            self.connect()
        try:
            return self._poll()
        except CONNECTION_ERRORS as exc:
            log.info("IMAP connection lost (%s); reconnecting", exc)
            self.connect()
            return self._poll()

    def _poll(self) -> PollReport:
        client = self._require_client()
        uidvalidity, self._selected = self._select(client)
        seen_up_to = last_uid(self.folder, uidvalidity)
        # Without MOVE our own half-done moves are \Deleted copies: skip them.
        criteria = "ALL" if self.can(b"MOVE") else "UNDELETED"
        uids = sorted(int(u) for u in client.search(criteria))
        # RFC 3501 makes "UID n:*" return the highest UID even below n, so the
        # split into new and leftover is done here, on the plain list.
        leftovers = [u for u in uids if u <= seen_up_to]
        fresh = [u for u in uids if u > seen_up_to]
        known = stored_uids(self.folder, uidvalidity, leftovers)
        report = PollReport(moved=self._move(sorted(known)))
        if known:
            log.info("moved %d message(s) stored before an interrupted run", len(known))
        todo = [u for u in leftovers if u not in known] + fresh
        for batch in chunks(todo, self.batch_size):
            report += self._store_and_move(batch, uidvalidity)
        self._finish_interrupted_expunges(uidvalidity, seen_up_to)
        return report

    def _store_and_move(self, uids: list[int], uidvalidity: int) -> PollReport:
        """Fetch a batch, commit each message, then move the committed ones in one go."""
        client = self._require_client()
        fetched = client.fetch(uids, ["BODY.PEEK[]"])
        created: list[int] = []
        duplicates = 0
        done: list[int] = []
        for uid in uids:
            raw = fetched.get(uid, {}).get(b"BODY[]")
            if raw is None:
                continue  # expunged by someone else since the search
            stored = store_raw(raw, "imap", self.clock(), mailbox=self.folder,
                               uidvalidity=uidvalidity, uid=uid,
                               imap_state=(self.folder, uidvalidity, uid))
            if stored.created:
                created.append(stored.row.id)
            else:
                duplicates += 1
            done.append(uid)
        moved = self._move(done)
        return PollReport(len(created), duplicates, moved, tuple(created))

    def _move(self, uids: list[int]) -> int:
        """MOVE, or COPY + \\Deleted + UID EXPUNGE; plain EXPUNGE would also remove
        messages other clients merely marked for deletion."""
        if not uids:
            return 0
        client = self._require_client()
        if self.can(b"MOVE"):
            client.move(uids, self.processed_folder)
            return len(uids)
        client.copy(uids, self.processed_folder)
        client.add_flags(uids, [DELETED])
        if self.can(b"UIDPLUS"):
            client.uid_expunge(uids)
        return len(uids)

    def _finish_interrupted_expunges(self, uidvalidity: int, seen_up_to: int) -> None:
        """Without MOVE, a kill between +FLAGS and UID EXPUNGE leaves a stored, copied,
        \\Deleted original behind; expunge those, and only those we have a row for:
        another client's \\Deleted message is not ours to remove."""
        if self.can(b"MOVE") or not self.can(b"UIDPLUS") or seen_up_to == 0:
            return
        client = self._require_client()
        flagged = [int(u) for u in client.search(["DELETED", "UID", f"1:{seen_up_to}"])]
        ours = stored_uids(self.folder, uidvalidity, (u for u in flagged if u <= seen_up_to))
        if ours:
            client.uid_expunge(sorted(ours))

    def _select(self, client: IMAPClient) -> tuple[int, tuple[int, int]]:
        """Select the folder; return its UIDVALIDITY and (UIDVALIDITY, UIDNEXT)."""
        selected = client.select_folder(self.folder)
        uidvalidity = int(selected[b"UIDVALIDITY"])
        return uidvalidity, (uidvalidity, int(selected.get(b"UIDNEXT", 0)))

    def _arrived_since_poll(self) -> bool:
        """Did mail arrive while we were polling? Re-select and compare UIDNEXT.

        The server may announce a new message (``* n EXISTS``) in the middle of our
        own SEARCH or MOVE; it will not repeat that in IDLE, so idling right away
        would sleep on mail already in the folder. A fresh SELECT resets the view:
        anything later is announced during IDLE.
        """
        _, selected = self._select(self._require_client())
        return selected != self._selected

    def _require_client(self) -> IMAPClient:
        if self.client is None:
            raise imaplib.IMAP4.abort("not connected")
        return self.client

    # -- the long-running loop -----------------------------------------------------

    def idle_loop(self, stop: threading.Event, on_stored: OnStored | None = None) -> None:
        """Poll, then IDLE (or sleep) until woken; reconnect with capped back-off on errors.

        Runs until ``stop`` is set; notices it within about ``idle_timeout``.
        ``on_stored(row_id)`` is called for each new row (errors there are
        logged, not fatal: the row is committed and the pipeline catches up).
        """
        delay = self.backoff
        try:
            while not stop.is_set():
                try:
                    report = self.poll_once()
                    delay = self.backoff
                    self._notify(report, on_stored)
                    self._wait_for_mail(stop)
                except RECOVERABLE_ERRORS as exc:
                    log.warning("IMAP door error (%s: %s); reconnecting in %.1fs",
                                type(exc).__name__, exc, delay)
                    self.drop()
                    stop.wait(delay)
                    delay = min(delay * 2, self.backoff_max)
        finally:
            self.close()
            if not db.is_closed():
                db.close()  # this thread's connection; the pool would not reclaim it

    def _notify(self, report: PollReport, on_stored: OnStored | None) -> None:
        if report.stored or report.moved:
            log.info("IMAP poll: %d stored, %d duplicate(s), %d moved",
                     report.stored, report.duplicates, report.moved)
        if on_stored is None:
            return
        for row_id in report.stored_ids:
            try:
                on_stored(row_id)
            except Exception:  # noqa: BLE001 - stored is stored; processing catches up
                log.exception("on_stored hook failed for inbound %d", row_id)

    def _wait_for_mail(self, stop: threading.Event) -> None:
        if self.use_idle and self.can(b"IDLE"):
            if not self._arrived_since_poll():
                self._idle(stop)
        else:
            stop.wait(self.poll_interval)

    def _idle(self, stop: threading.Event) -> None:
        """IDLE until the server reports a change, ``idle_renew`` passes, or ``stop``."""
        client = self._require_client()
        client.idle()
        started = time.monotonic()
        while not stop.is_set() and time.monotonic() - started < self.idle_renew:
            if _input_already_read(client):
                break  # a change arrived with the "+ idling" line: poll now
            checked = time.monotonic()
            responses = client.idle_check(timeout=self.idle_timeout)
            if any(not _is_keepalive(r) for r in responses):
                break
            # imapclient reports EOF as an early, empty answer; leave IDLE and let
            # idle_done (or the next search) raise on the dead socket.
            if not responses and time.monotonic() - checked < self.idle_timeout / 2:
                break
        client.idle_done()


def _input_already_read(client: IMAPClient) -> bool:
    """True when the server's news is already off the socket, where polling can't see it.

    imaplib reads through a buffered file: an ``* n EXISTS`` sent right before or
    in the same packet as the IDLE continuation lands in ``untagged_responses`` or
    in the file's buffer, and ``idle_check`` (which polls the socket) would sleep
    on it until the next keep-alive. Seen in the fault tests as a missed reply.
    """
    imap = client._imap
    if imap.untagged_responses.get("EXISTS") or imap.untagged_responses.get("RECENT"):
        imap.untagged_responses.pop("EXISTS", None)
        imap.untagged_responses.pop("RECENT", None)
        return True
    sock = client.socket()
    timeout = sock.gettimeout()
    try:
        sock.setblocking(False)
        return bool(imap.file.peek(1))
    except (BlockingIOError, OSError, ValueError):
        return False
    finally:
        sock.settimeout(timeout)
