"""A tick with nothing to do costs the same for 50 developers as for 200.

Cron ticks every minute; on most minutes nothing is due. Such a tick must ask
the database whether anything is due, not read every developer, membership or
open SUP to find out (issue 15: reading every team membership twice a minute
was most of a no-op tick at 10,000 developers). A day of ticks in four zones,
with teams, delivery managers and an HR worker, is played for 50 developers and
then, in the same database wiped, for 200 in the same teams: after each tick
that works, the same tick again must do nothing, with the same number of
statements and of rows read back as for 50.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailsup.clock import utcnow_naive
from mailsup.database import is_sqlite
from mailsup.jobs.tick import tick
from mailsup.models import (
    ALL_MODELS,
    Client,
    Membership,
    Org,
    OutboundMessage,
    Person,
    SchemaVersion,
    Sup,
    Team,
    db,
)

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo")
TEAMS = 5  # the same teams for both sizes: the figure must not grow with developers


def hourly(start: datetime, hours: int, step: int = 1) -> list[datetime]:
    return [start + timedelta(hours=h) for h in range(0, hours, step)]


# Friday 27 November 2026 hourly from Tokyo's morning (SUPs, reminders, team and HR
# digests, misses), the weekend every six hours, then Monday hourly: the weekly
# summaries of the week that had Friday's SUPs.
INSTANTS = (hourly(datetime(2026, 11, 26, 20, tzinfo=UTC), 34)
            + hourly(datetime(2026, 11, 28, 6, tzinfo=UTC), 36, 6)
            + hourly(datetime(2026, 11, 29, 18, tzinfo=UTC), 36))


def populate(developers: int) -> None:
    hr = Person.create(email="hr@example.com", name="Hanna HR", timezone="UTC")
    client = Client.create(slug="acme", name="Acme", schedule={}, hr=hr)
    org = Org.create(login="acme", client=client)
    teams = []
    for t in range(TEAMS):
        manager = Person.create(email=f"dm{t}@example.com", name=f"Manager {t}",
                                timezone=ZONES[t % len(ZONES)])
        teams.append(Team.create(org=org, slug=f"team{t}", name=f"Team {t}",
                                 delivery_manager=manager))
    for k in range(developers):
        person = Person.create(email=f"dev{k:04d}@example.com", name=f"Dev {k:04d}",
                               timezone=ZONES[k % len(ZONES)])
        Membership.create(team=teams[k % TEAMS], person=person)


def wipe() -> None:
    with db.atomic():
        for model in reversed(ALL_MODELS):
            if model is not SchemaVersion:
                model.delete().execute()


class Counter:
    """Statements run and rows read back, by the database driver itself."""

    def __init__(self):
        self.statements = self.rows = 0
        self.selects = 0  # of the statements, the look-ups (an INSERT per row is not one)

    def __enter__(self):
        connection = db.obj.connection()
        if is_sqlite():
            def row(cursor, values):
                self.rows += 1
                return values

            def trace(sql: str) -> None:
                self.count(sql)

            connection.row_factory = row
            connection.set_trace_callback(trace)
        else:
            connection.cursor_factory = _counting_cursor(self)
        self.connection = connection
        return self

    def count(self, sql: str) -> None:
        first = sql.lstrip()[:9].upper()
        if not first.startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            self.statements += 1
            self.selects += first.startswith(("SELECT", "WITH"))

    def __exit__(self, *exc):
        if is_sqlite():
            self.connection.row_factory = None
            self.connection.set_trace_callback(None)
        else:
            self.connection.cursor_factory = None


def _counting_cursor(counter: Counter):
    from psycopg2.extensions import cursor

    class Counting(cursor):
        def execute(self, query, vars=None):
            counter.count(query.decode() if isinstance(query, bytes) else str(query))
            return super().execute(query, vars)

        def fetchone(self):
            row = super().fetchone()
            counter.rows += row is not None
            return row

        def fetchmany(self, size=None):
            rows = super().fetchmany(size) if size is not None else super().fetchmany()
            counter.rows += len(rows)
            return rows

        def fetchall(self):
            rows = super().fetchall()
            counter.rows += len(rows)
            return rows

    return Counting


def play_day(settings, developers: int) -> tuple[list[tuple[int, int]], dict[str, int]]:
    """(statements, rows) of each no-op tick, and what the working ticks did in all."""
    populate(developers)
    costs, done = [], {}
    for instant in INSTANTS:
        report = tick(settings, instant, send=False)
        assert not report.errors, report.errors
        for name, count in report.done.items():
            done[name] = done.get(name, 0) + count
        # What a flush would leave: every mail sent at this instant.
        (OutboundMessage.update(status="sent", sent_at=utcnow_naive(instant))
         .where(OutboundMessage.status == "pending").execute())
        with Counter() as counted:
            again = tick(settings, instant)
        assert not again.errors and not any(again.done.values()) and not again.sent, \
            (instant, again.as_dict())
        costs.append((counted.statements, counted.rows))
    return costs, done


def test_a_noop_tick_does_not_grow_with_developers(make_settings):
    settings = make_settings()
    small, small_done = play_day(settings, 50)
    wipe()
    large, large_done = play_day(settings, 200)
    # The day really happened, for everyone: each job had its work.
    assert Sup.select().count() == large_done["create_sups"] > 2 * 200  # Friday, Monday +
    for job in ("create_sups", "nags", "team_digests", "missed"):
        assert large_done[job] > small_done[job] > 0, (job, small_done, large_done)
    assert large_done["weekly_summaries"] == small_done["weekly_summaries"] == TEAMS
    assert large_done["hr_digests"] == small_done["hr_digests"] > 0
    for instant, a, b in zip(INSTANTS, small, large, strict=True):
        assert a == b, f"a no-op tick at {instant:%a %H:%M} UTC: 50 developers {a}, 200 {b} " \
                       "(statements, rows)"
