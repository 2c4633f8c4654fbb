"""``mailsup run``: scheduler + inbound doors + pipeline + outbox + pages, until SIGTERM.

Threads with clear jobs, one loop shape each: the scheduler ticks every minute
(leader only), the pipeline worker processes stored mail as soon as a door
signals it, the SMTP listener and the IMAP door only store, waitress serves
the pages on ``[web] listen``. SIGTERM/SIGINT stop the doors and the pages
first (no new mail or request accepted), then let each loop finish the work
in hand.

One leader runs the schedule when several workers share PostgreSQL:
``pg_try_advisory_lock`` on a dedicated connection that never goes back to a
pool, so the lock lives exactly as long as the holder's session and a dead
leader's lock is released by the server. Unique keys still make a double
leader harmless; the lock only saves work.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime

import schedule
from peewee import DatabaseError, InterfaceError, PostgresqlDatabase

from mailsup.clock import utc_now
from mailsup.config import Settings
from mailsup.errors import UserError
from mailsup.inbound import runner
from mailsup.inbound.doors.imap import ImapDoor
from mailsup.inbound.doors.smtp import make_controller, parse_listen
from mailsup.jobs.tick import tick
from mailsup.models import db
from mailsup.outbound import sender
from mailsup.web import metrics
from mailsup.web.app import create_app
from mailsup.web.server import WebServer, check_port

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# The lock is (class, schema): installations that share one PostgreSQL database
# in different schemas (and the tests, a schema each) never take each other's.
LOCK_CLASS = 0x6D61696C  # "mail"


class Leadership:
    def __init__(self) -> None:
        self._conn = None
        self.is_leader = False

    def try_acquire(self) -> bool:
        """True if this process leads now; cheap to call every minute."""
        database = db.obj
        if not isinstance(database, PostgresqlDatabase):
            self.is_leader = True  # SQLite: one host; unique keys guard the rest
            return True
        if self.is_leader and self._alive():
            return True
        self._close()
        try:
            self._conn = database._connect()
            self._conn.autocommit = True
            with self._conn.cursor() as cur:
                cur.execute("SELECT pg_try_advisory_lock(%s, hashtext(current_schema()))",
                            (LOCK_CLASS,))
                self.is_leader = bool(cur.fetchone()[0])
        except Exception as exc:  # noqa: BLE001 - no database, no leadership this minute
            log.warning("leader check failed: %s", exc)
            self._close()
            self.is_leader = False
        if not self.is_leader:
            self._close()
        return self.is_leader

    def _alive(self) -> bool:
        try:
            with self._conn.cursor() as cur:
                cur.execute("SELECT 1")
            return True
        except Exception:  # noqa: BLE001 - the session (and its lock) is gone
            self.is_leader = False
            return False

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001
                pass
        self._conn = None

    def release(self) -> None:
        self._close()
        self.is_leader = False


class Service:
    def __init__(self, settings: Settings, clock: Clock = utc_now, tick_seconds: int = 60,
                 smtp: bool = True, imap: bool = True, web: bool = True):
        self.settings = settings
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.stop = threading.Event()
        self.inbound_ready = threading.Event()
        self.leadership = Leadership()
        self.threads: list[threading.Thread] = []
        self.controller = None
        self.use_smtp = smtp and bool(settings.inbound.listen)
        self.use_imap = imap and bool(settings.imap.host)
        self.use_web = web and bool(settings.web.listen)
        self.web: WebServer | None = None

    # --- loops ----------------------------------------------------------

    def run_tick(self) -> None:
        try:
            if self.leadership.try_acquire():
                started = time.monotonic()
                report = tick(self.settings, self.clock())
                metrics.observe_tick(time.monotonic() - started, not report.errors)
                log.info("tick: %s", report.as_dict())
            else:
                sender.flush(self.settings, self.clock())  # followers still send
        except (DatabaseError, InterfaceError) as exc:  # the next minute tries again
            log.warning("tick failed: %s", str(exc).strip().splitlines()[:1])
        except Exception:  # noqa: BLE001 - the next minute tries again
            log.exception("tick failed")
        finally:
            db.close()

    def scheduler_loop(self) -> None:
        scheduler = schedule.Scheduler()
        scheduler.every(self.tick_seconds).seconds.do(self.run_tick)
        self.run_tick()
        while not self.stop.wait(1):
            scheduler.run_pending()

    def pipeline_loop(self) -> None:
        while not self.stop.is_set():
            self.inbound_ready.wait(5)
            self.inbound_ready.clear()
            try:
                done = runner.process_pending(self.settings, self.clock())
                if done:
                    sender.flush(self.settings, self.clock())  # receipts go out at once
            except (DatabaseError, InterfaceError) as exc:  # waited per policy already
                log.warning("pipeline pass failed: %s", str(exc).strip().splitlines()[:1])
            except Exception:  # noqa: BLE001 - rows stay stored; the loop goes on
                log.exception("pipeline pass failed")
            finally:
                db.close()

    def imap_loop(self) -> None:
        # A short IDLE wait lets SIGTERM stop the loop within a second; the
        # IDLE command itself is still renewed only every idle_renew seconds.
        door = ImapDoor(self.settings, clock=self.clock, idle_timeout=1.0)
        try:
            door.idle_loop(self.stop, on_stored=lambda *_: self.inbound_ready.set())
        finally:
            door.close()
            db.close()

    # --- lifecycle --------------------------------------------------------

    def _thread(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def check_listen(self) -> None:
        """Fail with one line before printing "running" if a port is taken."""
        if self.use_web:
            check_port(self.settings.web.listen)
        if not self.use_smtp:
            return
        host, port = parse_listen(self.settings.inbound.listen)
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise UserError(f"[inbound] listen {host}:{port}: {exc.strerror}; choose "
                                "another address or start with --no-smtp") from None

    def start(self) -> None:
        try:
            runner.reclaim_dead(self.clock())  # a kill -9 left them: no 10-minute wait
        except (DatabaseError, InterfaceError) as exc:
            log.warning("could not reclaim inbound rows: %s", exc)
        finally:
            db.close()
        self.inbound_ready.set()  # the first pipeline pass runs at once
        if self.use_smtp:
            self.controller = make_controller(self.settings, self.clock,
                                              on_stored=lambda _id: self.inbound_ready.set())
            self.controller.start()
            log.info("SMTP listener on %s", self.settings.inbound.listen)
        if self.use_web:
            self.web = WebServer(create_app(self.settings, self.clock),
                                 self.settings.web.listen).start()
        self._thread("pipeline", self.pipeline_loop)
        self._thread("scheduler", self.scheduler_loop)
        if self.use_imap:
            self._thread("imap", self.imap_loop)

    def shutdown(self, timeout: float = 30) -> None:
        log.info("stopping: no new mail accepted, finishing work in hand")
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
        if self.web is not None:
            self.web.stop()
            self.web = None
        self.stop.set()
        self.inbound_ready.set()
        for thread in self.threads:
            thread.join(timeout)
        self.leadership.release()

    def run_forever(self) -> int:
        def on_signal(signum, _frame):
            log.info("signal %s received", signal.Signals(signum).name)
            self.stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        while not self.stop.wait(0.5):
            pass
        self.shutdown()
        return 0


def run_once(settings: Settings, now: datetime) -> dict:
    """Cron style: poll IMAP once, process stored mail, run the jobs, flush."""
    polled = 0
    if settings.imap.host:
        door = ImapDoor(settings, clock=lambda: now)
        try:
            polled = door.poll_once().stored
        finally:
            door.close()
    report = tick(settings, now)
    return {"imap_stored": polled} | report.as_dict()
