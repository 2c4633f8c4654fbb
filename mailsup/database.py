"""Bind the models to SQLite or PostgreSQL and bring the schema up to date.

Schema changes are numbered migrations (playhouse.migrate), never "drop and
recreate": an operator's data survives upgrades.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, unquote, urlparse

from peewee import Database, OperationalError, PostgresqlDatabase, SqliteDatabase, fn
from playhouse.migrate import SchemaMigrator

from mailsup.clock import utc_now, utcnow_naive
from mailsup.config import ConfigError, private_dir, private_file
from mailsup.models import ALL_MODELS, SchemaVersion, SignInToken, TickRun, db

log = logging.getLogger(__name__)
T = TypeVar("T")

# The one policy for every process (tick, run, inbound deliver, the pages): each
# statement waits BUSY_TIMEOUT_MS for another writer (SQLite's busy handler);
# a unit of work that still meets "database is locked" is retried whole, with
# backoff, for up to [mailsup] lock_wait_seconds before its one-line error.
BUSY_TIMEOUT_MS = 5000
_lock_wait = 30.0

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": BUSY_TIMEOUT_MS,
    "foreign_keys": 1,
    "synchronous": "normal",
}


def make_database(url: str) -> Database:
    """Turn a ``database =`` URL into a peewee database (not yet connected)."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):] or ":memory:"
        if path != ":memory:" and not path.startswith("file:"):
            # Created 0600 before SQLite opens it; its -wal and -shm copy that mode.
            private_dir(Path(path).parent)
            private_file(Path(path))
        # IMMEDIATE: a transaction takes the write lock when it begins, so two
        # processes wait on busy_timeout instead of failing "database is locked"
        # when a deferred read transaction tries to become a writer.
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, check_same_thread=False,
                              lock_type="IMMEDIATE")
    parsed = urlparse(url)
    if parsed.scheme in ("postgres", "postgresql"):
        try:
            import psycopg2  # noqa: F401 - only to give a clear message when missing
        except ImportError:
            raise ConfigError("[mailsup] database is PostgreSQL but psycopg2 is not installed; "
                              "pip install 'mailsup[postgres]'") from None
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return PostgresqlDatabase(
            unquote(parsed.path.lstrip("/")) or "postgres",
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname or None,
            port=parsed.port or None,
            **options,
        )
    raise ConfigError(
        f"[mailsup] database: unsupported URL {url!r}; use sqlite:///PATH or postgresql://USER@HOST/DB"
    )


def bind(url: str, lock_wait: float | None = None) -> Database:
    """Point the model proxy at ``url``; returns the concrete database."""
    global _lock_wait
    if lock_wait is not None:
        _lock_wait = float(lock_wait)
    database = make_database(url)
    db.initialize(database)
    return database


def is_busy(exc: BaseException) -> bool:
    """SQLite's "another writer holds the lock", as opposed to a broken database."""
    text = str(exc).lower()
    return isinstance(exc, OperationalError) and ("locked" in text or "busy" in text)


def retry_busy(call: Callable[..., T], *args, **kwargs) -> T:
    """Run a whole unit of work (its own transactions), again while SQLite is busy.

    Never call it inside an open transaction: a retry must start from scratch.
    """
    deadline = time.monotonic() + _lock_wait
    pause = 0.05
    while True:
        try:
            return call(*args, **kwargs)
        except OperationalError as exc:
            if not is_busy(exc) or time.monotonic() + pause > deadline:
                raise
            log.info("database busy (%s); trying again in %.2f s", exc, pause)
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


def is_sqlite() -> bool:
    return isinstance(db.obj, SqliteDatabase)


def insert_rows(model, rows: list[dict], *, ignore_conflicts: bool = False,
                returning: tuple = ()) -> list[tuple]:
    """Many rows of one shape with one statement compiled once: the 06:00 burst's INSERTs.

    peewee's ``insert_many`` builds every bound value through its query tree,
    which costs more than the database's own work; here each value goes through
    its field's ``db_value`` (the same conversion) into ``executemany``. On
    PostgreSQL ``returning`` (fields) gives those columns of the rows really
    inserted (a skipped conflict returns nothing); SQLite always returns []
    (read them back in a transaction that holds the write lock).
    """
    if not rows:
        return []
    # The model's defaults for columns the rows leave out, as Model.create fills them.
    defaults = [f for f in model._meta.sorted_fields
                if f.default is not None and f.name not in rows[0]]
    fields = [model._meta.fields[name] for name in rows[0]] + defaults
    database = db.obj
    columns = ", ".join(f'"{f.column_name}"' for f in fields)  # both quote with "
    table = f'"{model._meta.table_name}"'
    given = len(fields) - len(defaults)
    params = [tuple(f.db_value(row[f.name]) for f in fields[:given])
              + tuple(f.db_value(f.default() if callable(f.default) else f.default)
                      for f in defaults) for row in rows]
    cursor = database.cursor()
    # DO NOTHING skips a row only for a unique key another writer has taken;
    # unlike SQLite's OR IGNORE it never hides a NOT NULL or CHECK failure.
    skip = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if is_sqlite():
        marks = ", ".join("?" * len(fields))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks}){skip}", params)
        return []
    from psycopg2.extras import execute_values

    sql = f"INSERT INTO {table} ({columns}) VALUES %s{skip}"
    if returning:
        sql += " RETURNING " + ", ".join(f'"{f.column_name}"' for f in returning)
        return [tuple(r) for r in execute_values(cursor, sql, params, page_size=500,
                                                 fetch=True)]
    execute_values(cursor, sql, params, page_size=500)
    return []


def insert_new(model, rows: list[dict], returning: tuple) -> list[tuple]:
    """``insert_rows`` skipping conflicts, and the ``returning`` columns of the rows it made.

    What a batch of side effects needs: a row another worker (or an earlier
    tick) made is skipped, and only the rows of this call are acted on. Call it
    in a transaction. PostgreSQL says which rows with RETURNING; on SQLite the
    transaction holds the write lock from BEGIN (IMMEDIATE), so every id above
    the largest one before the INSERT is a row it made.
    """
    if not rows:
        return []
    if not is_sqlite():
        return insert_rows(model, rows, ignore_conflicts=True, returning=returning)
    before = model.select(fn.MAX(model.id)).scalar() or 0
    insert_rows(model, rows, ignore_conflicts=True)
    return list(model.select(*returning).where(model.id > before).tuples())


def _initial(migrator: SchemaMigrator) -> None:
    db.create_tables(ALL_MODELS, safe=True)


def _columns(table: str) -> set[str]:
    return {c.name for c in db.get_columns(table)}


def _review_of_amendments_and_big_uids(migrator: SchemaMigrator) -> None:
    """v2: HR acknowledges amendments; IMAP UIDs are unsigned 32-bit (need BIGINT).

    Written to be a no-op on a database that ``_initial`` just created from the
    current models, so fresh installs and upgrades end in the same schema.
    """
    if "amendments_reviewed" not in _columns("sup"):
        # Plain SQL: peewee's SQLite add_column(not null) rebuilds the table, which
        # foreign keys from other tables (effect, inbound_message) refuse.
        db.execute_sql('ALTER TABLE "sup" ADD COLUMN "amendments_reviewed" '
                       "INTEGER NOT NULL DEFAULT 0")
    if not is_sqlite():  # SQLite's INTEGER is already 64-bit
        for table, column in (("inbound_message", "uidvalidity"), ("inbound_message", "uid"),
                              ("imap_state", "uidvalidity"), ("imap_state", "last_uid")):
            db.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE BIGINT')


def _reply_reading_fields(migrator: SchemaMigrator) -> None:
    """v3: a SUP keeps its scheduling note, the developer's comment and a refused draft.

    Nullable columns with no default: a plain ALTER on both databases, and a
    no-op where ``_initial`` already created them.
    """
    present = _columns("sup")
    for column in ("scheduling_note", "comment", "draft"):
        if column not in present:
            db.execute_sql(f'ALTER TABLE "sup" ADD COLUMN "{column}" TEXT')


def _pages(migrator: SchemaMigrator) -> None:
    """v4: sign-in links and the tick record of the pages (design §12).

    ``safe=True`` makes it a no-op where ``_initial`` already created them, and
    leaves the order of migrations free: merges may reorder them.
    """
    db.create_tables([SignInToken, TickRun], safe=True)


def _missed_late_and_leave_by_mail(migrator: SchemaMigrator) -> None:
    """v5 (issue 12): a late flag on SUPs; where a leave span came from (file or mail).

    Idempotent like every migration: merges may reorder them, and ``_initial``
    may have created the columns already.
    """
    if "late" not in _columns("sup"):
        db.execute_sql('ALTER TABLE "sup" ADD COLUMN "late" BOOLEAN NOT NULL DEFAULT FALSE'
                       if not is_sqlite() else
                       'ALTER TABLE "sup" ADD COLUMN "late" INTEGER NOT NULL DEFAULT 0')
    if "source" not in _columns("leave"):
        db.execute_sql('ALTER TABLE "leave" ADD COLUMN "source" VARCHAR(255) NOT NULL '
                       "DEFAULT 'directory'")


def _inbound_claim_owner(migrator: SchemaMigrator) -> None:
    """v6 (issue 14): who holds a "processing" claim, so a restart reclaims a dead one."""
    if "claimed_by" not in _columns("inbound_message"):
        db.execute_sql('ALTER TABLE "inbound_message" ADD COLUMN "claimed_by" VARCHAR(255)')


# Append new migrations here; each runs once, in order, in its own transaction.
MIGRATIONS: list[Callable[[SchemaMigrator], None]] = [
    _initial,
    _review_of_amendments_and_big_uids,
    _reply_reading_fields,
    _pages,
    _missed_late_and_leave_by_mail,
    _inbound_claim_owner,
]


def current_version() -> int:
    if not db.table_exists(SchemaVersion._meta.table_name):
        return 0
    latest = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
    return latest.version if latest else 0


def migrate() -> int:
    """Apply pending migrations; returns the resulting schema version."""
    migrator = SchemaMigrator.from_database(db.obj)
    version = current_version()
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        with db.atomic():
            step(migrator)
            SchemaVersion.create(
                version=number, applied_at=utcnow_naive(utc_now())
            )
        log.info("schema migrated to version %d", number)
    return len(MIGRATIONS)


def require_schema() -> None:
    """Refuse to run against a database that `mailsup init` has not prepared."""
    version = current_version()
    if version == 0:
        raise ConfigError("the database has no mailsup tables; run `mailsup init` first")
    if version < len(MIGRATIONS):
        migrate()
