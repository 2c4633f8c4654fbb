"""The tests' fast schema (a copied SQLite file, replayed PostgreSQL DDL) is exactly
the schema ``migrate()`` builds from nothing: same tables, columns, types, defaults,
constraints, indexes, sequences and recorded versions."""

from __future__ import annotations

import pytest

from mailsup import database
from mailsup.models import ALL_MODELS, Client, Person, db
from tests.support.databases import database_url, install_schema, postgres_template


def sqlite_dump() -> dict:
    rows = db.execute_sql("SELECT type, name, tbl_name, sql FROM sqlite_master "
                          "ORDER BY type, name").fetchall()
    pragmas = {name: db.execute_sql(f"PRAGMA {name}").fetchone()[0]
               for name in ("user_version", "journal_mode", "foreign_keys", "page_size",
                            "auto_vacuum", "encoding")}
    return {"master": rows, "pragmas": pragmas}


def postgres_dump(schema: str) -> dict:
    def rows(sql: str) -> list[tuple]:
        found = db.execute_sql(sql, (schema,)).fetchall()
        return [tuple(str(v).replace(schema, "<schema>") for v in row) for row in found]

    sequences = rows("SELECT sequence_name, data_type, start_value, minimum_value, "
                     "maximum_value, increment, cycle_option FROM information_schema.sequences "
                     "WHERE sequence_schema = %s ORDER BY sequence_name")
    states = [(name, *db.execute_sql(f'SELECT last_value, is_called FROM "{schema}"."{name}"')
               .fetchone()) for name, *_ in sequences]
    return {
        "tables": rows("SELECT table_name, table_type FROM information_schema.tables "
                       "WHERE table_schema = %s ORDER BY table_name"),
        "columns": rows("SELECT table_name, ordinal_position, column_name, data_type, "
                        "character_maximum_length, numeric_precision, is_nullable, "
                        "column_default, is_identity FROM information_schema.columns "
                        "WHERE table_schema = %s ORDER BY table_name, ordinal_position"),
        "constraints": rows("SELECT c.conrelid::regclass::text, c.conname, c.contype, "
                            "pg_get_constraintdef(c.oid) FROM pg_constraint c "
                            "JOIN pg_namespace n ON n.oid = c.connamespace "
                            "WHERE n.nspname = %s ORDER BY 1, 2"),
        "indexes": rows("SELECT tablename, indexname, indexdef FROM pg_indexes "
                        "WHERE schemaname = %s ORDER BY tablename, indexname"),
        "sequences": sequences,
        "sequence_states": states,
        "owned_by": rows("SELECT s.relname, t.relname, a.attname FROM pg_class s "
                         "JOIN pg_namespace n ON n.oid = s.relnamespace "
                         "JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i') "
                         "JOIN pg_class t ON t.oid = d.refobjid "
                         "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
                         "WHERE s.relkind = 'S' AND n.nspname = %s ORDER BY 1"),
    }


def dump(url: str) -> dict:
    database.bind(url)
    try:
        versions = db.execute_sql('SELECT version FROM "schema_version" '
                                  "ORDER BY version").fetchall()
        rows = {model._meta.table_name: model.select().count() for model in ALL_MODELS}
        if url.startswith("sqlite"):
            return {"versions": versions, "rows": rows, **sqlite_dump()}
        schema = db.execute_sql("SELECT current_schema()").fetchone()[0]
        return {"versions": versions, "rows": rows, **postgres_dump(schema)}
    finally:
        db.obj.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_fast_schema_is_the_one_migrate_builds_from_nothing(kind, tmp_path):
    (tmp_path / "slow").mkdir()
    (tmp_path / "fast").mkdir()
    with database_url(kind, tmp_path / "slow") as slow, \
            database_url(kind, tmp_path / "fast") as fast:
        database.bind(slow)
        assert database.migrate() == len(database.MIGRATIONS)
        db.obj.close()
        assert install_schema(fast)
        database.bind(fast)
        assert database.current_version() == len(database.MIGRATIONS)
        assert database.migrate() == len(database.MIGRATIONS)  # nothing left to apply
        db.obj.close()
        expected, got = dump(slow), dump(fast)
        assert expected["versions"] == [(n,) for n in range(1, len(database.MIGRATIONS) + 1)]
        assert got == expected
        assert len(got["master" if kind == "sqlite" else "indexes"]) > 20  # a real schema
        assert not install_schema(fast)  # a database with tables is left to migrate()


def use(url: str) -> None:
    """What a test does to its database: rows in tables with foreign keys, sequences moved."""
    assert install_schema(url)
    database.bind(url)
    database.migrate()
    for n in range(3):
        Person.create(email=f"p{n}@example.com", name=f"P{n}")
    Client.create(slug="c", name="C")
    db.obj.close()


def test_a_used_postgres_schema_comes_back_as_the_one_migrate_builds(tmp_path):
    template = postgres_template()
    with database_url("postgres", tmp_path) as used:
        use(used)
    assert template.pool  # emptied and put back (the previous tests' may be there too)
    waiting = list(template.pool)
    for name in waiting[:-1]:  # the one put back last is the next one handed out
        template.pool.remove(name)
    try:
        (tmp_path / "slow").mkdir()
        with database_url("postgres", tmp_path / "slow") as slow, \
                database_url("postgres", tmp_path) as fast:
            database.bind(slow)
            database.migrate()
            db.obj.close()
            assert install_schema(fast) and template.pool == []  # the used one, renamed
            database.bind(fast)
            assert database.migrate() == len(database.MIGRATIONS)
            db.obj.close()
            assert dump(fast) == dump(slow)
    finally:
        template.pool.extend(waiting[:-1])


def test_a_postgres_schema_a_test_altered_is_dropped_not_reused(tmp_path):
    template = postgres_template()
    with database_url("postgres", tmp_path) as url:
        use(url)
        database.bind(url)
        db.execute_sql('ALTER TABLE "person" ADD COLUMN "extra" TEXT')
        db.obj.close()
        before = list(template.pool)
    assert template.pool == before  # not put back
