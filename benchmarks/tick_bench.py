"""How long ``tick`` takes when nothing is due, when it creates every SUP of the day, and
when it comes late and queues every reminder and team digest at once.

Usage: ``python benchmarks/tick_bench.py [--quick]`` prints the JSON of :func:`run`.

The directory is written with bulk inserts (one client, one org, teams of 100
developers in UTC), not through TOML: loading 10,000 people is not what is
measured. ``[smtp] host`` is empty and the creating tick runs with
``send=False``, so the figure is SUP rows + rendering + outbox rows, no SMTP.
The no-op tick is a full cron tick (every job, and the outbox flush) run again
at the same instant, once every SUP exists and its mail is sent; in a full run
it runs over the 10,000 developers just created.

This module also holds the workspace helpers (a temporary SQLite database and
settings) that the outbound and inbound benchmarks share.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peewee import chunked  # noqa: E402

from mailsup import config as config_mod  # noqa: E402
from mailsup import database, directory  # noqa: E402
from mailsup.clock import utcnow_naive  # noqa: E402
from mailsup.config import Settings  # noqa: E402
from mailsup.jobs.tick import tick  # noqa: E402
from mailsup.models import (  # noqa: E402
    Client,
    Membership,
    Org,
    OutboundMessage,
    Person,
    Sup,
    Team,
    db,
)
from mailsup.testing.config import write_config  # noqa: E402

# Wednesday 06:30 UTC: every UTC developer's 06:00 SUP is due and none is late.
NOW = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)
# The same day at noon: the reminders (09:30) and team digests (10:30) all due at once.
CATCH_UP = NOW.replace(hour=12, minute=0)
TEAM_SIZE = 100
INSERT_CHUNK = 100  # rows per INSERT: well under SQLite's bound-variable limit


@dataclass
class Workspace:
    """A temporary directory holding the config file, the database and the outbox folder."""

    root: Path
    settings: Settings


def write_ini(path: Path, smtp_port: int | None) -> Path:
    """The tests' minimal config; an empty host writes .eml files instead."""
    return write_config(path, f"sqlite:///{path.parent / 'mailsup.db'}", smtp_port,
                        secret="bench-secret-Vq3xT8mKp2Lw9Zr4Hn6B")


@contextmanager
def workspace(smtp_port: int | None = None) -> Iterator[Workspace]:
    """A fresh migrated SQLite database bound to the models; removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="mailsup-bench-"))
    try:
        settings = config_mod.load(str(write_ini(root / "mailsup.ini", smtp_port)))
        database.bind(settings.database)
        database.migrate()
        yield Workspace(root, settings)
    finally:
        if db.obj is not None and not db.obj.is_closed():
            db.obj.close()
        shutil.rmtree(root, ignore_errors=True)


def developer_email(k: int) -> str:
    return f"dev{k:05d}@example.com"


def populate(developers: int) -> None:
    """One client whose org has teams of ``TEAM_SIZE``: bulk inserts in one transaction,
    then fresh PostgreSQL statistics as after a directory load (``directory.analyze``)."""
    with db.atomic():
        client = Client.create(slug="acme", name="Acme Corp", schedule={})
        org = Org.create(login="acme", client=client)
        people = [{"email": developer_email(k), "name": f"Dev {k:05d}", "timezone": "UTC",
                   "github": f"dev{k:05d}"} for k in range(developers)]
        for batch in chunked(people, INSERT_CHUNK):
            Person.insert_many(batch).execute()
        teams = [{"org": org.id, "slug": f"team{t:03d}", "name": f"Team {t:03d}"}
                 for t in range((developers + TEAM_SIZE - 1) // TEAM_SIZE)]
        for batch in chunked(teams, INSERT_CHUNK):
            Team.insert_many(batch).execute()
        team_ids = [t.id for t in Team.select(Team.id).order_by(Team.id)]
        person_ids = [p.id for p in Person.select(Person.id).order_by(Person.id)]
        members = [{"team": team_ids[i // TEAM_SIZE], "person": pid}
                   for i, pid in enumerate(person_ids)]
        for batch in chunked(members, INSERT_CHUNK):
            Membership.insert_many(batch).execute()
    directory.analyze()  # what `mailsup directory load` does after adding people (PostgreSQL)


def create_all(ws: Workspace, developers: int) -> float:
    """Seconds for the tick that creates (and queues the mail of) every developer's SUP."""
    start = time.perf_counter()
    report = tick(ws.settings, NOW, send=False)
    elapsed = time.perf_counter() - start
    if report.errors or report.done.get("create_sups") != developers:
        raise AssertionError(f"creating tick went wrong: {report.as_dict()}")
    return elapsed


def noop_ms(ws: Workspace, runs: int) -> float:
    """Median milliseconds of a full tick (flush included) that finds nothing to do."""
    before = Sup.select().count()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        report = tick(ws.settings, NOW)
        times.append((time.perf_counter() - start) * 1000)
        if report.errors or any(report.done.values()) or report.sent:
            raise AssertionError(f"no-op tick did something: {report.as_dict()}")
    if Sup.select().count() != before:
        raise AssertionError("no-op tick created SUPs")
    return statistics.median(times)


def catch_up_s(ws: Workspace) -> tuple[float, int]:
    """Seconds of the first tick after a morning without ticks: at 12:00 every open
    SUP's reminder and every team digest is due at once (render + outbox rows, no
    SMTP); and how many mails it queued."""
    before = OutboundMessage.select().count()
    start = time.perf_counter()
    report = tick(ws.settings, CATCH_UP, send=False)
    elapsed = time.perf_counter() - start
    if report.errors or not report.done.get("nags") or not report.done.get("team_digests"):
        raise AssertionError(f"catch-up tick went wrong: {report.as_dict()}")
    return elapsed, OutboundMessage.select().count() - before


def measure_create(developers: int) -> float:
    with workspace() as ws:
        populate(developers)
        return create_all(ws, developers)


def mark_sent(now) -> None:
    """What a flush would leave (every mail sent), without writing thousands of files."""
    (OutboundMessage.update(status="sent", sent_at=utcnow_naive(now), lease_until=None)
     .where(OutboundMessage.status == "pending").execute())


def run(quick: bool, scale: float = 1.0) -> dict[str, Any]:
    """``scale`` < 1 shrinks every size (the smoke test); keys and meaning stay the same.

    Full: the no-op tick runs over the 10,000 developers whose creating tick is
    ``tick_create_s["10000"]``; quick: over 1,000 (and 10,000 is not measured).
    """
    sizes = {"1000": max(10, int(1000 * scale)), "10000": max(20, int(10_000 * scale))}
    created: dict[str, float | None] = {"1000": None, "10000": None}
    column = "1000" if quick else "10000"
    if not quick:
        created["1000"] = measure_create(sizes["1000"])
    with workspace() as ws:
        populate(sizes[column])
        created[column] = create_all(ws, sizes[column])
        mark_sent(NOW)
        noop = noop_ms(ws, 5 if quick else 15)
        catch_up, catch_up_mails = catch_up_s(ws)
    return {
        "tick_catch_up_s": round(catch_up, 3),
        "tick_catch_up_mails": catch_up_mails,
        "tick_noop_ms": round(noop, 2),
        "tick_noop_developers": sizes[column],
        "tick_create_s": {k: None if v is None else round(v, 3) for k, v in created.items()},
        "tick_create_measured": {k: sizes[k] if created[k] is not None else None
                                 for k in sizes},
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
