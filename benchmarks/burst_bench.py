"""The 06:00 burst on PostgreSQL with two workers.

Usage: ``python benchmarks/burst_bench.py [--quick]`` prints the JSON of :func:`run`.

10,000 developers in one time zone (quick: 2,000) in a private PostgreSQL
schema. Two worker processes, started and warmed up first, are released at the
same instant:
- ``tick_burst_postgres_s``: both run the 06:00 ``tick(send=False)`` (two cron
  ticks, or two services in a leader hand-over): every SUP created once and
  its mail queued. They split the batches (an advisory lock per batch) instead
  of queueing behind each other's rows. The same work as ``tick_create_s``.
- ``tick_burst_flush_s``: both flush the outbox to an in-process sink (``FOR
  UPDATE SKIP LOCKED`` claims, ``[smtp] connections`` each) until every mail is
  sent; every mail must arrive exactly once.
Needs the PostgreSQL the tests use (``MAILSUP_TEST_POSTGRES``, default
``postgresql://postgres@127.0.0.1:5432/test``); without it the figures are
``null`` with the reason, not an error.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.tick_bench import NOW, populate  # noqa: E402
from mailsup import config as config_mod  # noqa: E402
from mailsup import database  # noqa: E402
from mailsup.models import OutboundMessage, Sup, db  # noqa: E402
from mailsup.testing import free_port  # noqa: E402
from mailsup.testing.config import write_config  # noqa: E402
from mailsup.testing.sink import SmtpSink  # noqa: E402

PG_DSN = os.environ.get("MAILSUP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parents[1]
MESSAGE_ID = re.compile(rb"^Message-ID: (\S+)\r?$", re.MULTILINE | re.IGNORECASE)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def worker(role: str, ini: str) -> None:
    """One worker: imports done and connected, waits for "go" on stdin, then works."""
    from mailsup.jobs.tick import tick
    from mailsup.outbound import sender

    settings = config_mod.load(ini)
    database.bind(settings.database)
    db.connect(reuse_if_open=True)
    print("ready", flush=True)
    sys.stdin.readline()
    done = 0
    profile = os.environ.get("MAILSUP_BURST_PROFILE")  # a folder: one cProfile dump per worker
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    if role == "create":
        report = tick(settings, NOW, send=False)
        if report.errors:
            raise SystemExit(f"tick failed: {report.errors}")
        done = report.done["create_sups"]
    else:
        while True:
            done += len(sender.flush(settings, NOW).sent)
            if not OutboundMessage.select().where(OutboundMessage.status != "sent").exists():
                break
            time.sleep(0.02)  # the other worker holds the last rows
    if profile:
        profiler.disable()
        profiler.dump_stats(str(Path(profile) / f"{role}-{os.getpid()}.prof"))
    print(json.dumps({"role": role, "done": done, "peak_rss_mb": peak_rss_mb()}), flush=True)


def together(role: str, ini: Path, workers: int = 2) -> tuple[float, list[dict]]:
    """Start ``workers`` processes, release them at once; seconds until the last is done."""
    children = [subprocess.Popen(
        [sys.executable, "-m", "benchmarks.burst_bench", "--worker", role, str(ini)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(workers)]
    for child in children:
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError(f"a {role} worker did not start")
    start = time.perf_counter()
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    outputs = [child.communicate(timeout=1800)[0] for child in children]
    elapsed = time.perf_counter() - start
    if any(child.returncode for child in children):
        raise AssertionError(f"a {role} worker failed: {[c.returncode for c in children]}")
    return elapsed, [json.loads(out.strip().splitlines()[-1]) for out in outputs]


def run(quick: bool, scale: float = 1.0) -> dict[str, Any]:
    count = max(50, int((2_000 if quick else 10_000) * scale))
    result: dict[str, Any] = {"tick_burst_postgres_s": None, "tick_burst_flush_s": None,
                              "tick_burst_developers": count, "tick_burst_workers": 2}
    try:
        import psycopg2

        admin = psycopg2.connect(PG_DSN, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - no server here: say so, do not fail the run
        result["tick_burst_postgres_note"] = f"PostgreSQL not reachable: {exc}".strip()
        return result
    admin.autocommit = True
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin.cursor().execute(f"CREATE SCHEMA {schema}")
    sink = SmtpSink(free_port()).start()
    try:
        with tempfile.TemporaryDirectory(prefix="mailsup-burst-") as folder:
            url = f"{PG_DSN}?options=-c%20search_path%3D{schema}"
            ini = write_config(Path(folder) / "mailsup.ini", url, sink.port,
                               secret="bench-secret-Vq3xT8mKp2Lw9Zr4Hn6B")
            settings = config_mod.load(str(ini))
            database.bind(settings.database)
            database.migrate()
            populate(count)
            db.close()
            create_s, created = together("create", ini)
            database.bind(settings.database)
            check_created(count, created)
            db.close()
            flush_s, flushed = together("flush", ini)
            database.bind(settings.database)
            verify(sink, count, flushed)
            db.close()
    finally:
        sink.stop()
        admin.cursor().execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()
    result["tick_burst_postgres_s"] = round(create_s, 2)
    result["tick_burst_flush_s"] = round(flush_s, 2)
    result["tick_burst_created_by"] = [r["done"] for r in created]
    result["tick_burst_sent_by"] = [r["done"] for r in flushed]
    result["tick_burst_peak_rss_mb"] = {f"{r['role']}{n}": r["peak_rss_mb"]
                                        for n, r in enumerate(created + flushed)}
    return result


def check_created(count: int, reports: list[dict]) -> None:
    sups = Sup.select().count()
    mails = OutboundMessage.select().where(OutboundMessage.kind == "sup_request").count()
    if not sups == mails == sum(r["done"] for r in reports) == count:
        raise AssertionError(f"{sups} SUPs, {mails} mails, workers say "
                             f"{[r['done'] for r in reports]}, for {count} developers")


def verify(sink: SmtpSink, count: int, reports: list[dict]) -> None:
    """Every SUP once, every mail at the relay exactly once."""
    sups = Sup.select().count()
    rows = list(OutboundMessage.select(OutboundMessage.message_id, OutboundMessage.status))
    received = Counter(MESSAGE_ID.search(m.data).group(1).decode() for m in sink.messages)
    if sups != count or len(rows) != count or any(r.status != "sent" for r in rows):
        raise AssertionError(f"{sups} SUPs, {len(rows)} mails for {count} developers")
    if sorted(received.values()) != [1] * count or set(received) != {r.message_id for r in rows}:
        raise AssertionError(f"the relay got {sum(received.values())} mails, "
                             f"{len(received)} distinct, for {count}")
    if sum(r["done"] for r in reports) != count:
        raise AssertionError(f"workers report {[r['done'] for r in reports]} sent of {count}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2], sys.argv[3])
    else:
        print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
