"""Where the tests find PostgreSQL (the machine's own server; a private schema per test).

Most tests want a database already at the latest schema. Running
``database.migrate()`` for each of them is a few dozen round trips on
PostgreSQL (every CREATE TABLE, CREATE INDEX and column probe is one), which
under this machine's load was the largest part of a test's setup. So the
schema is built by ``migrate()`` once per session and handed out cheaply:
SQLite gets a copy of the migrated file; PostgreSQL gets a used schema that
still has the template's shape, emptied and renamed (see ``_Template``), or the
statements ``migrate()`` ran, replayed in one round trip. ``test_migrations.py``
still runs ``migrate()`` from nothing, and ``test_schema_fast_path.py`` proves
every fast path ends in the same schema as ``migrate()``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mailsup.testing.services import require_service

PG_DSN = os.environ.get("MAILSUP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
SQLITE_PREFIX = "sqlite:///"

_reachable = False  # once the server has answered, later tests need not ask again
_admin = None  # one autocommit connection for CREATE/DROP SCHEMA, kept for the session
_schema_of: dict[str, str] = {}  # URL handed out -> its private schema
_sqlite_template: Path | None = None


def postgres_reachable() -> bool:
    global _reachable
    if _reachable:
        return True
    try:
        import psycopg2

        psycopg2.connect(PG_DSN, connect_timeout=3).close()
        _reachable = True
        return True
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False


def _admin_connection():
    global _admin
    if _admin is None or _admin.closed:
        import psycopg2

        _admin = psycopg2.connect(PG_DSN, options="-c synchronous_commit=off")
        _admin.autocommit = True
        atexit.register(_admin.close)
    return _admin


# synchronous_commit=off: a commit returns before its WAL reaches the disk. Only a
# crash of the server itself (never of a client or backend, which the fault tests
# cause) could lose such a commit; visibility and locking are unchanged. On this
# shared machine a synchronous commit waited ~3 ms for fdatasync, thousands of times.
SESSION_OPTIONS = "%20-c%20synchronous_commit%3Doff"


def postgres_url(schema: str) -> str:
    return f"{PG_DSN}?options=-c%20search_path%3D{schema}{SESSION_OPTIONS}"


@contextmanager
def database_url(kind: str, folder: Path) -> Iterator[str]:
    """A fresh, empty database to bind: a SQLite file in ``folder``, or a private
    PostgreSQL schema (emptied or dropped afterwards; a missing server skips, or
    fails under CI)."""
    if kind == "sqlite":
        yield f"{SQLITE_PREFIX}{folder / 'mailsup.db'}"
        return
    if not postgres_reachable():
        require_service(f"PostgreSQL not reachable at {PG_DSN}")

    from mailsup.models import db

    schema = f"t_{uuid.uuid4().hex[:12]}"
    _admin_connection().cursor().execute(f"CREATE SCHEMA {schema}")  # no files: cheap
    url = postgres_url(schema)
    _schema_of[url] = schema
    try:
        yield url
    finally:
        _schema_of.pop(url, None)
        if db.obj is not None and not db.obj.is_closed():
            db.obj.close()
        _recycle(schema)


# --- the migrated schema, built once ---------------------------------------

def _migrate_recording(url: str) -> list[tuple[str, object]]:
    """Run ``migrate()`` from nothing on ``url``; the statements it sent, in order."""
    from mailsup import database
    from mailsup.models import db

    database.bind(url)
    statements: list[tuple[str, object]] = []
    db.obj.query_hooks.append(lambda event: statements.append((event.sql, event.params)))
    try:
        database.migrate()
    finally:
        db.obj.close()
    return statements


def sqlite_template() -> Path:
    """A SQLite file that ``migrate()`` brought from nothing to the latest version."""
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix="mailsup-template-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "template.db"
        _migrate_recording(f"{SQLITE_PREFIX}{path}")
        _sqlite_template = path  # closed: WAL checkpointed, no -wal or -shm beside it
    return _sqlite_template


# What migrate() sends that changes the schema (or records its version); its
# probes (table_exists, get_columns) read only, and on an empty schema they
# answer the same every time, so the branches they chose are replayed as taken.
_CHANGES = ("CREATE ", "ALTER ", "INSERT ", "DROP ", "COMMENT ")

# Everything about a schema that a test could change and that matters to the
# next one: relations, columns (position, type, null, default), constraints,
# indexes, sequences' settings, functions, triggers, types. Names are shown
# without the schema's own name, which differs from schema to schema.
_FINGERPRINT = """
WITH n AS (SELECT oid, nspname FROM pg_namespace WHERE nspname = %(schema)s),
-- pg_class is scanned once: on this shared server it is bloated by every test
-- run's CREATE/DROP, and each scan of it cost ~10 ms. The rest is reached by OID.
rel AS MATERIALIZED (SELECT c.oid, c.relname, c.relkind FROM pg_class c, n
                     WHERE c.relnamespace = n.oid),
facts AS (
  SELECT 'r ' || relname || ' ' || relkind::text AS fact FROM rel
  UNION ALL SELECT 'a ' || c.relname || ' ' || a.attnum || ' ' || a.attname || ' '
      || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull || ' '
      || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM rel c JOIN pg_attribute a ON a.attrelid = c.oid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped
  UNION ALL SELECT 'k ' || c.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
    FROM rel c JOIN pg_constraint k ON k.conrelid = c.oid
  UNION ALL SELECT 'i ' || pg_get_indexdef(i.indexrelid) FROM rel c
    JOIN pg_index i ON i.indexrelid = c.oid
  UNION ALL SELECT 's ' || c.relname || ' ' || q.seqtypid::regtype || ' ' || q.seqstart || ' '
      || q.seqincrement || ' ' || q.seqmin || ' ' || q.seqmax || ' ' || q.seqcycle
    FROM rel c JOIN pg_sequence q ON q.seqrelid = c.oid
  UNION ALL SELECT 't ' || t.tgname FROM rel c JOIN pg_trigger t ON t.tgrelid = c.oid
    WHERE NOT t.tgisinternal
  UNION ALL SELECT 'f ' || p.oid::regprocedure::text FROM pg_proc p, n
    WHERE p.pronamespace = n.oid
  UNION ALL SELECT 'y ' || t.typname || ' ' || t.typtype::text FROM pg_type t, n
    WHERE t.typnamespace = n.oid
)
SELECT md5(coalesce(string_agg(replace(fact, (SELECT nspname FROM n), '<schema>'), E'\\n'
                                ORDER BY fact), '')),
       (SELECT coalesce(sum(pg_total_relation_size(oid)), 0) FROM rel
         WHERE relkind IN ('r', 'S'))
  FROM facts
"""


class _Template:
    """The schema ``migrate()`` builds from nothing, and what it takes to make another.

    PostgreSQL spends most of a schema's cost creating (and later unlinking) a
    file per table, index and sequence. So a used schema whose structure is
    still the template's is emptied with DELETEs, its sequences and version rows
    put back as ``migrate()`` left them, and it waits in a pool to be renamed to
    the next test's schema; one that a test altered (or filled past a few MB)
    is dropped as before.
    """

    def __init__(self) -> None:
        admin = _admin_connection()
        scratch = f"t_{uuid.uuid4().hex[:12]}"
        admin.cursor().execute(f"CREATE SCHEMA {scratch}")
        try:
            sent = _migrate_recording(postgres_url(scratch))
        except BaseException:
            admin.cursor().execute(f"DROP SCHEMA {scratch} CASCADE")
            raise
        cursor = admin.cursor()
        texts = [cursor.mogrify(sql, params or None).decode()
                 for sql, params in sent if sql.lstrip().upper().startswith(_CHANGES)]
        assert not any(scratch in text for text in texts), "a statement names its schema"
        self.ddl = ";\n".join(texts) + ";"
        self.rows = ";\n".join(t for t in texts if t.startswith("INSERT ")) + ";"
        cursor.execute("SELECT relname FROM pg_class c JOIN pg_namespace n "
                       "ON n.oid = c.relnamespace WHERE n.nspname = %s AND relkind = 'r' "
                       "ORDER BY relname", (scratch,))
        self.tables = [name for name, in cursor.fetchall()]
        cursor.execute("SELECT sequencename, start_value FROM pg_sequences "
                       "WHERE schemaname = %s ORDER BY sequencename", (scratch,))
        self.sequences = cursor.fetchall()
        self.fingerprint, size = self.measure(scratch)
        self.size_limit = size + 4 * 1024 * 1024
        self.pool: list[str] = [scratch]  # built by migrate() itself: the first to hand out
        atexit.register(self.drain)

    @staticmethod
    def measure(schema: str) -> tuple[str, int]:
        cursor = _admin_connection().cursor()
        cursor.execute(_FINGERPRINT, {"schema": schema})
        digest, size = cursor.fetchone()
        return digest, int(size)

    def install(self, schema: str) -> bool:
        """Make the empty ``schema`` a migrated one; False if it is not empty."""
        import psycopg2

        cursor = _admin_connection().cursor()
        if self.pool:
            ready = self.pool.pop()
            try:  # RESTRICT refuses a schema that holds anything
                cursor.execute(f"DROP SCHEMA {schema} RESTRICT; "
                               f"ALTER SCHEMA {ready} RENAME TO {schema}")
                return True
            except psycopg2.errors.DependentObjectsStillExist:
                self.pool.append(ready)
                return False
        cursor.execute("SELECT 1 FROM pg_class c JOIN pg_namespace n "
                       "ON n.oid = c.relnamespace WHERE n.nspname = %s LIMIT 1", (schema,))
        if cursor.fetchone():
            return False
        # One round trip: a multi-statement text runs as one implicit transaction.
        cursor.execute(f"SET search_path TO {schema};\n{self.ddl}\nRESET search_path;")
        return True

    def recycle(self, schema: str) -> None:
        """After its test: back to the pool if still the template's shape, else dropped."""
        digest, size = self.measure(schema)
        cursor = _admin_connection().cursor()
        if digest != self.fingerprint or size > self.size_limit:
            cursor.execute(f"DROP SCHEMA {schema} CASCADE")
            return
        ready = f"t_{uuid.uuid4().hex[:12]}"
        # replica: no foreign key triggers, so the tables empty in any order.
        statements = ["SET session_replication_role = replica"]
        statements += [f'DELETE FROM {schema}."{table}"' for table in self.tables]
        statements += ["RESET session_replication_role"]
        statements += [f"SELECT setval('{schema}.\"{name}\"', {start}, false)"
                       for name, start in self.sequences]
        statements += [f"SET search_path TO {schema}", self.rows.rstrip(";"),
                       "RESET search_path", f"ALTER SCHEMA {schema} RENAME TO {ready}"]
        cursor.execute(";\n".join(statements))
        self.pool.append(ready)

    def drain(self) -> None:
        if _admin is None or _admin.closed:
            return
        while self.pool:
            _admin.cursor().execute(f"DROP SCHEMA {self.pool.pop()} CASCADE")


_template: _Template | None = None


def postgres_template() -> _Template:
    global _template
    if _template is None:
        _template = _Template()
    return _template


def postgres_ddl() -> str:
    """The statements ``migrate()`` ran on an empty schema, as one SQL text, unqualified
    (they land in whatever schema ``search_path`` names)."""
    return postgres_template().ddl


def _recycle(schema: str) -> None:
    if _template is None:  # no test asked for a migrated schema yet: nothing to reuse
        _admin_connection().cursor().execute(f"DROP SCHEMA {schema} CASCADE")
    else:
        _template.recycle(schema)


def _sqlite_is_new(path: Path) -> bool:
    return not path.exists() or path.stat().st_size == 0


def install_schema(url: str) -> bool:
    """Give a database handed out by ``database_url`` the latest schema, the fast way,
    if nothing has been put in it yet; returns whether it did. The caller binds and
    calls ``migrate()`` as usual (then a no-op) either way."""
    if url.startswith(SQLITE_PREFIX):
        path = Path(url[len(SQLITE_PREFIX):])
        if not _sqlite_is_new(path):
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sqlite_template(), path)
        os.chmod(path, 0o600)  # what mailsup's own private_file would have made
        return True
    schema = _schema_of.get(url)
    if schema is None:
        return False
    return postgres_template().install(schema)
