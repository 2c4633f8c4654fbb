"""One leader runs the schedule when several workers share PostgreSQL.

``pg_try_advisory_lock`` on a dedicated connection that never goes back to a
pool: the lock lives exactly as long as the holder's session, so a dead leader's
lock is released by the server and another worker takes over on its next try.
Unique keys still make a double leader harmless; the lock only saves work.
"""

from __future__ import annotations

import logging

from peewee import PostgresqlDatabase

from mailsup.models import db

log = logging.getLogger("mailsup.leader")

LOCK_KEY = 0x6D61696C737570  # "mailsup"


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
                cur.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
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
