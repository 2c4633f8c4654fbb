"""Where the tests find PostgreSQL (the machine's own server; a private schema per test)."""

from __future__ import annotations

import os

PG_DSN = os.environ.get("MAILSUP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_reachable() -> bool:
    try:
        import psycopg2

        psycopg2.connect(PG_DSN, connect_timeout=3).close()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False
