"""Where the tests find PostgreSQL (the machine's own server; a private schema per test)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mailsup.testing.services import require_service

PG_DSN = os.environ.get("MAILSUP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_reachable() -> bool:
    try:
        import psycopg2

        psycopg2.connect(PG_DSN, connect_timeout=3).close()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False


@contextmanager
def database_url(kind: str, folder: Path) -> Iterator[str]:
    """A fresh database to bind: a SQLite file in ``folder``, or a private PostgreSQL
    schema (dropped afterwards; a missing server skips, or fails under CI)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'mailsup.db'}"
        return
    if not postgres_reachable():
        require_service(f"PostgreSQL not reachable at {PG_DSN}")
    import psycopg2

    from mailsup.models import db

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(PG_DSN)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_DSN}?options=-c%20search_path%3D{schema}"
    finally:
        if db.obj is not None and not db.obj.is_closed():
            db.obj.close()
        admin.cursor().execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()
