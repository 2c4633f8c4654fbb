"""Two workers on one PostgreSQL for a simulated day of 500 developers (design §9).

Several ``mailsup`` processes may share PostgreSQL: unique keys make every
create idempotent and the outbox is claimed with ``FOR UPDATE SKIP LOCKED``,
so two workers running the same instant must still send each mail once. One
leader runs the schedule, chosen by an advisory lock that dies with its
session, so a dead leader is replaced.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from mailsup import directory
from mailsup.config import Settings
from mailsup.inbound.store import store_raw
from mailsup.models import Effect, InboundMessage, OutboundMessage, Sup
from mailsup.service import Leadership
from mailsup.testing.replies import make_reply
from tests.support.databases import PG_DSN
from tests.support.world import (
    developer_email,
    directory_toml,
    mailsup_argv,
    message_ids,
    spawn,
    tick_argv,
)

DEVELOPERS = 500
REPLIERS = 50  # Berlin developers who answer in the morning: receipts, no nag, HR digest
ZONES = ("Asia/Kolkata", "Europe/Berlin", "Europe/London", "America/New_York",
         "America/Los_Angeles")
# Wednesday 02:00Z: 18:00 of Tuesday in Los Angeles, so no Tuesday SUP is still due there;
# Kolkata's 06:00 (00:30Z) has passed, so its SUPs go out late, at the first instant.
DAY_START = datetime.fromisoformat("2026-11-25T02:00+00:00")
REPLIES_AFTER = DAY_START + timedelta(hours=3, minutes=30)  # 05:30Z: Berlin's SUPs are out


def instants() -> list[datetime]:
    """Every half hour to 18:30Z: each zone's 06:00 and 09:30, the 10:30/11:00 digests."""
    return [DAY_START + timedelta(minutes=30 * i) for i in range(34)]


@pytest.fixture
def postgres_only(db_url: str) -> None:
    """Asked for before the world, so the SQLite parametrisation skips at once."""
    if db_url.startswith("sqlite"):
        pytest.skip("two workers share a database only on PostgreSQL (design §9)")


@pytest.fixture
def settings_500(postgres_only: None, make_settings, smtp_sink, tmp_path: Path) -> Settings:
    settings = make_settings(smtp_sink.port, "[inbound]\nlisten =\n")
    path = tmp_path / "directory.toml"
    path.write_text(directory_toml(DEVELOPERS, ZONES), encoding="utf-8")
    directory.load_file(path)
    return settings


# --- a day with two workers --------------------------------------------------------------

@dataclass
class Worker:
    """What one worker process did for one instant."""

    code: int
    sent: int
    stderr: str


def run_both(ini: Path, now: datetime) -> list[Worker]:
    """Worker A runs ``tick``, worker B ``run --once``, started together for one instant."""
    children = [spawn(tick_argv(ini, now)),
                spawn(mailsup_argv(ini, "run", "--once", "--now", now.isoformat()))]
    results = []
    for child in children:
        stdout, stderr = child.communicate(timeout=120)
        sent = re.search(r"\bsent=(\d+)", stdout.decode())
        results.append(Worker(child.returncode, int(sent.group(1)) if sent else 0,
                              stderr.decode()))
    return results


def store_replies(sink, now: datetime) -> int:
    """The first REPLIERS Berlin developers answer their SUP mail (through the store)."""
    berlin = [n for n in range(DEVELOPERS) if ZONES[n % len(ZONES)] == "Europe/Berlin"]
    for n in berlin[:REPLIERS]:
        (request,) = sink.to(developer_email(n))
        store_raw(make_reply(request, f"plan: item {n}", sender=f"Dev <{developer_email(n)}>"),
                  "smtp", now)
    return REPLIERS


def kinds_sent() -> Counter[str]:
    return Counter(r.kind for r in OutboundMessage.select().where(
        OutboundMessage.status == "sent"))


def test_two_workers_send_every_mail_of_a_500_developer_day_once(
        settings_500: Settings, smtp_sink, tmp_path: Path) -> None:
    ini, started, failures, sent_by = tmp_path / "mailsup.ini", time.monotonic(), [], [0, 0]
    for now in instants():
        if now == REPLIES_AFTER:
            store_replies(smtp_sink, now)
        for i, worker in enumerate(run_both(ini, now)):
            sent_by[i] += worker.sent
            if worker.code:
                failures.append((now.isoformat(), worker.code, worker.stderr[-2000:]))
    took = time.monotonic() - started
    counts = message_ids(smtp_sink)
    dups = sum(n - 1 for n in counts.values())
    kinds = kinds_sent()
    print(f"\nworkers: 2 workers x {len(instants())} instants in {took:.0f}s, "
          f"developers={DEVELOPERS} sups={Sup.select().count()} mails={sum(counts.values())} "
          f"by kind={dict(kinds)} duplicates={dups} sent by tick/run-once={sent_by}")
    assert failures == []
    assert sum(sent_by) == sum(counts.values()) and min(sent_by) > 0  # both really worked
    assert Counter(Counter((s.developer_id, s.day) for s in Sup.select()).values()) \
        == {1: DEVELOPERS}
    assert dups == 0
    assert OutboundMessage.select().where(OutboundMessage.status != "sent").count() == 0
    assert set(counts) == {r.message_id for r in OutboundMessage.select()}
    # One team digest per person (each at their own 10:30): every developer, and Dan.
    assert kinds == {"sup_request": DEVELOPERS, "nag": DEVELOPERS - REPLIERS,
                     "receipt": REPLIERS, "team_digest": DEVELOPERS + 1, "hr_digest": 1}
    assert Counter(r.status for r in InboundMessage.select()) == {"applied": REPLIERS}
    assert Effect.select().where(Effect.kind == "nag").count() == DEVELOPERS - REPLIERS
    assert all(len(smtp_sink.to(developer_email(n))) == 3 for n in range(DEVELOPERS))


# --- leadership -----------------------------------------------------------------------------

@pytest.fixture
def leaders(postgres_only: None, make_settings) -> Iterator[list[Leadership]]:
    """Two would-be leaders on their own sessions; released whatever happens."""
    make_settings()
    made = [Leadership(), Leadership()]
    yield made
    for leadership in made:
        leadership.release()


def first_leader(candidates: list[Leadership], seconds: float = 5.0) -> list[bool]:
    """Ask both; another test run sharing the server may hold the lock for a moment."""
    deadline = time.monotonic() + seconds
    while True:
        answers = [c.try_acquire() for c in candidates]
        if any(answers) or time.monotonic() > deadline:
            return answers
        time.sleep(0.2)


def terminate_session(pid: int) -> None:
    import psycopg2

    admin = psycopg2.connect(PG_DSN)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
    finally:
        admin.close()


def test_exactly_one_of_two_is_leader_and_the_other_takes_over_on_release(
        leaders: list[Leadership]) -> None:
    first, second = leaders
    assert first_leader(leaders) == [True, False]
    assert [first.try_acquire(), second.try_acquire()] == [True, False]  # stable
    first.release()  # its connection closes: the server frees the lock
    assert second.try_acquire() is True
    assert first.try_acquire() is False


def test_leader_whose_session_dies_is_replaced(leaders: list[Leadership]) -> None:
    first, second = leaders
    assert first_leader(leaders) == [True, False]
    # The leader's own session (a private attribute: the test plays the server's part).
    terminate_session(first._conn.get_backend_pid())
    deadline = time.monotonic() + 5
    while not second.try_acquire():
        assert time.monotonic() < deadline, "nobody took over from the dead leader"
        time.sleep(0.1)
    assert first.try_acquire() is False  # the old leader notices it lost the lock
    assert second.try_acquire() is True
