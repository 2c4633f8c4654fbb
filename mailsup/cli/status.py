"""``mailsup status [--json]``: is the service doing its job, in one screen.

The last tick, the outbox by status and its oldest waiting mail, quarantined
inbound mail, answers held back by loop protection, who leads the schedule,
and the versions. Read-only: it never sends, migrates or retries anything.
"""

from __future__ import annotations

import platform
import sqlite3
from importlib import metadata

from peewee import fn

from mailsup import database
from mailsup.cli.common import open_settings, print_json, shown_url
from mailsup.cli.outbox import counts_by_status
from mailsup.clock import stamp, utc_now, utcnow_naive
from mailsup.models import Effect, InboundMessage, OutboundMessage, TickRun, db
from mailsup.service import LOCK_CLASS


def last_tick() -> dict | None:
    row = TickRun.select().order_by(TickRun.id.desc()).first()
    if row is None:
        return None
    ago = (utcnow_naive(utc_now()) - row.started_at).total_seconds()
    return {"started_at": stamp(row.started_at), "now": stamp(row.now),
            "seconds_ago": round(ago), "duration_ms": row.duration_ms,
            "jobs": row.jobs or {}, "errors": row.errors or {}, "sent": row.sent,
            "failed": row.failed}


def oldest_pending() -> dict | None:
    row = (OutboundMessage.select().where(OutboundMessage.status.in_(("pending", "sending")))
           .order_by(OutboundMessage.created_at, OutboundMessage.id).first())
    if row is None:
        return None
    return {"id": row.id, "kind": row.kind, "to": list(row.recipients or []),
            "created_at": stamp(row.created_at), "attempts": row.attempts,
            "next_attempt_at": stamp(row.next_attempt_at), "last_error": row.last_error}


def inbound_counts() -> dict[str, int]:
    return dict(InboundMessage.select(InboundMessage.status, fn.COUNT(InboundMessage.id))
                .group_by(InboundMessage.status).tuples())


def suppressed_answers() -> int:
    """Answers not sent because an address's automatic-answer budget was spent.

    Counts the ``suppressed:{answer_kind}:{inbound_id}`` effects (``Keys.suppressed``);
    extend here when loop protection records other kinds of held-back answers.
    """
    return Effect.select().where(Effect.kind == "suppressed").count()


def leader() -> dict:
    """Who holds the schedule's advisory lock (PostgreSQL); SQLite has no leader lock."""
    if database.is_sqlite():
        return {"mode": "sqlite", "holder": None,
                "note": "SQLite: one host, every `mailsup run` ticks (unique keys guard)"}
    cursor = db.execute_sql(
        "SELECT a.pid, a.application_name, host(a.client_addr), a.backend_start "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s "
        "AND l.objid = (hashtext(current_schema())::bigint & 4294967295)::oid",
        (LOCK_CLASS,))
    row = cursor.fetchone()
    if row is None:
        return {"mode": "postgresql", "holder": None,
                "note": "no `mailsup run` holds the schedule lock: nothing ticks unless cron "
                        "runs `mailsup tick`"}
    pid, app, addr, since = row
    return {"mode": "postgresql", "holder": {"pid": pid, "application": app or "",
                                             "client_addr": addr or "local",
                                             "since": stamp(since.replace(tzinfo=None))
                                             if since else None}, "note": ""}


def versions() -> dict:
    try:
        mine = metadata.version("mailsup")
    except metadata.PackageNotFoundError:
        mine = "unknown"
    if database.is_sqlite():
        server = f"SQLite {sqlite3.sqlite_version}"
    else:
        server = "PostgreSQL " + db.execute_sql("SHOW server_version").fetchone()[0]
    return {"mailsup": mine, "schema": database.current_version(),
            "schema_latest": len(database.MIGRATIONS), "python": platform.python_version(),
            "database": server}


def collect(settings) -> dict:
    counts = inbound_counts()
    return {"database": shown_url(settings.database), "last_tick": last_tick(),
            "outbox": counts_by_status(), "oldest_pending": oldest_pending(),
            "inbound": counts, "quarantined": counts.get("quarantined", 0),
            "suppressed_answers": suppressed_answers(), "leader": leader(),
            "versions": versions()}


def _text(data: dict) -> list[str]:
    lines = [f"database: {data['database']}"]
    tick = data["last_tick"]
    if tick is None:
        lines.append("last tick: never (run `mailsup tick` from cron, or `mailsup run`)")
    else:
        errors = "; ".join(f"{k}: {v}" for k, v in tick["errors"].items())
        lines.append(f"last tick: {tick['started_at']} ({tick['seconds_ago']} s ago, "
                     f"{tick['duration_ms']} ms, as of {tick['now']}), sent {tick['sent']}"
                     + (f", failed {tick['failed']}" if tick["failed"] else "")
                     + (f"; errors: {errors}" if errors else ""))
    lines.append("outbox: " + ", ".join(f"{k} {v}" for k, v in data["outbox"].items()))
    old = data["oldest_pending"]
    if old:
        why = f"; last error: {' '.join(old['last_error'].split())[:150]}" \
            if old["last_error"] else ""
        lines.append(f"oldest waiting: outbox {old['id']} ({old['kind']}) since "
                     f"{old['created_at']}, {old['attempts']} attempt(s), next "
                     f"{old['next_attempt_at']}{why}; see `mailsup outbox show {old['id']}`")
    quarantined = data["quarantined"]
    lines.append(f"inbound: quarantined {quarantined}"
                 + (" (see `mailsup inbound list --status quarantined`)" if quarantined else "")
                 + "".join(f", {k} {v}" for k, v in sorted(data["inbound"].items())
                           if k != "quarantined"))
    lines.append(f"answers held back by loop protection: {data['suppressed_answers']}")
    lead = data["leader"]
    if lead["holder"]:
        h = lead["holder"]
        lines.append(f"leader: pid {h['pid']} at {h['client_addr']} ({h['application'] or '-'})"
                     f" since {h['since']}")
    else:
        lines.append(f"leader: {lead['note']}")
    v = data["versions"]
    lines.append(f"versions: mailsup {v['mailsup']}, schema {v['schema']}/{v['schema_latest']}, "
                 f"Python {v['python']}, {v['database']}")
    return lines


def cmd_status(args) -> int:
    settings = open_settings(args)
    data = collect(settings)
    if args.json:
        print_json(data)
    else:
        print("\n".join(_text(data)))
    return 0


def add_commands(sub) -> None:
    status = sub.add_parser("status", help="last tick, outbox, quarantined mail, leader, "
                                           "versions")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
