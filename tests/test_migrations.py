"""Schema changes are migrations: an old database is upgraded, never recreated."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from mailsup import config as config_mod
from mailsup import database
from mailsup.models import (
    Client,
    Effect,
    Leave,
    Person,
    SchemaVersion,
    SignInToken,
    Sup,
    TickRun,
    db,
)
from mailsup.testing.config import write_config


@pytest.fixture
def make_settings(tmp_path, db_url):
    """Unlike conftest's (which installs a copy of the migrated schema), here
    ``migrate()`` itself builds every schema from nothing: these tests are about it."""
    def factory(smtp_port: int | None = None, extra: str = "", mailsup_extra: str = ""):
        path = write_config(tmp_path / "mailsup.ini", db_url, smtp_port, extra, mailsup_extra)
        settings = config_mod.load(str(path))
        database.bind(settings.database)
        database.migrate()
        return settings
    yield factory
    if db.obj is not None and not db.obj.is_closed():
        db.obj.close()


def test_fresh_database_is_at_the_latest_version(make_settings):
    make_settings()
    assert database.current_version() == len(database.MIGRATIONS)


def test_version_one_database_is_upgraded_keeping_data(make_settings):
    make_settings()
    person = Person.create(email="a@example.com", name="A")
    client = Client.create(slug="c", name="C")
    stamp = datetime(2026, 11, 25, 5, 0)
    sup = Sup.create(developer=person, client=client, day=date(2026, 11, 25), created_at=stamp,
                     due_at=stamp, nag_at=stamp, window_start=stamp, plan="keep me")
    Effect.create(key="nag:1", kind="nag", sup=sup, created_at=stamp)  # a row referencing it
    # Turn it into what version 1 looked like.
    db.execute_sql('ALTER TABLE "sup" DROP COLUMN "amendments_reviewed"')
    SchemaVersion.delete().where(SchemaVersion.version > 1).execute()
    assert database.current_version() == 1
    assert database.migrate() == len(database.MIGRATIONS)
    assert Sup.get_by_id(sup.id).plan == "keep me"
    assert Sup.get_by_id(sup.id).amendments_reviewed == 0
    assert database.migrate() == len(database.MIGRATIONS)  # a second run changes nothing


def test_version_two_database_gains_the_reading_columns(make_settings):
    make_settings()
    person = Person.create(email="a@example.com", name="A")
    client = Client.create(slug="c", name="C")
    stamp = datetime(2026, 11, 25, 5, 0)
    sup = Sup.create(developer=person, client=client, day=date(2026, 11, 25), created_at=stamp,
                     due_at=stamp, nag_at=stamp, window_start=stamp, plan="keep me")
    for column in ("scheduling_note", "comment", "draft"):
        db.execute_sql(f'ALTER TABLE "sup" DROP COLUMN "{column}"')
    SchemaVersion.delete().where(SchemaVersion.version > 2).execute()
    assert database.migrate() == len(database.MIGRATIONS)
    kept = Sup.get_by_id(sup.id)
    assert kept.plan == "keep me" and kept.comment is None and kept.draft is None
    Sup.update(scheduling_note="dentist", draft={"fields": {}}).where(Sup.id == sup.id).execute()
    assert Sup.get_by_id(sup.id).draft == {"fields": {}}


def test_version_two_database_gets_the_tables_of_the_pages(make_settings):
    make_settings()
    db.drop_tables([SignInToken, TickRun])
    SchemaVersion.delete().where(SchemaVersion.version > 2).execute()
    assert database.migrate() == len(database.MIGRATIONS)
    assert db.table_exists("sign_in_token") and db.table_exists("tick_run")
    assert database.migrate() == len(database.MIGRATIONS)


def test_version_four_database_gains_late_and_leave_source(make_settings):
    make_settings()
    person = Person.create(email="a@example.com", name="A")
    client = Client.create(slug="c", name="C")
    stamp = datetime(2026, 11, 25, 5, 0)
    sup = Sup.create(developer=person, client=client, day=date(2026, 11, 25), created_at=stamp,
                     due_at=stamp, nag_at=stamp, window_start=stamp, plan="keep me")
    Leave.create(person=person, start=date(2026, 12, 1), end=date(2026, 12, 2))
    db.execute_sql('ALTER TABLE "sup" DROP COLUMN "late"')
    db.execute_sql('ALTER TABLE "leave" DROP COLUMN "source"')
    SchemaVersion.delete().where(SchemaVersion.version > 4).execute()
    assert database.migrate() == len(database.MIGRATIONS)
    assert Sup.get_by_id(sup.id).late is False and Sup.get_by_id(sup.id).plan == "keep me"
    assert Leave.get().source == "directory"  # what the file said stays the file's
    assert database.migrate() == len(database.MIGRATIONS)
