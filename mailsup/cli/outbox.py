"""``mailsup outbox list|show|retry``: the operator's view of every mail mailsup sends.

Every outbound mail is an outbox row before anything sends it (design §4), so
this is the whole truth about what went out, what waits and why, and what
failed. ``retry`` queues a row again and sends it at once, like ``/ops``.
"""

from __future__ import annotations

import sys

from peewee import fn

from mailsup.cli.common import EXIT_TEMPFAIL, open_settings, parse_now, print_json, print_record
from mailsup.clock import stamp, utcnow_naive
from mailsup.errors import UserError
from mailsup.models import OutboundMessage
from mailsup.outbound import sender

STATUSES = ("pending", "sending", "sent", "failed")
RETRYABLE = ("failed", "pending")
MAX_ID = 2**63 - 1


def outbox_as_dict(row: OutboundMessage) -> dict:
    return {"id": row.id, "key": row.key, "kind": row.kind, "status": row.status,
            "attempts": row.attempts, "to": list(row.recipients or []), "from": row.mail_from,
            "subject": row.subject, "message_id": row.message_id, "sup": row.sup_id,
            "created_at": stamp(row.created_at), "next_attempt_at": stamp(row.next_attempt_at),
            "sent_at": stamp(row.sent_at), "last_error": row.last_error,
            "size": len(bytes(row.raw))}


def counts_by_status() -> dict[str, int]:
    counts = dict(OutboundMessage.select(OutboundMessage.status, fn.COUNT(OutboundMessage.id))
                  .group_by(OutboundMessage.status).tuples())
    return {status: counts.get(status, 0) for status in STATUSES} | counts


def waiting_after_failure() -> int:
    """Rows the relay has not taken although it was tried: what cron should hear about."""
    return (OutboundMessage.select()
            .where((OutboundMessage.status == "pending") & (OutboundMessage.attempts > 0))
            .count())


def last_error() -> str:
    row = (OutboundMessage.select(OutboundMessage.last_error)
           .where((OutboundMessage.status == "pending") & (OutboundMessage.attempts > 0))
           .order_by(OutboundMessage.id.desc()).first())
    return (row.last_error or "") if row else ""


def cmd_list(args) -> int:
    open_settings(args)
    query = OutboundMessage.select().order_by(OutboundMessage.id.desc()).limit(args.limit)
    if args.status:
        query = query.where(OutboundMessage.status == args.status)
    rows = [outbox_as_dict(r) for r in reversed(list(query))]
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no outbox rows match" + (f" --status {args.status}" if args.status else ""),
              file=sys.stderr)
        return 0
    print(f"{'id':>6}  {'created (UTC)':<16}  {'status':<7} {'tries':>5}  {'kind':<16} "
          f"{'to':<30} subject / last error")
    for r in rows:
        to = ", ".join(r["to"])
        what = r["last_error"] if r["status"] != "sent" and r["last_error"] else r["subject"]
        print(f"{r['id']:>6}  {r['created_at'][:16]:<16}  {r['status']:<7} {r['attempts']:>5}  "
              f"{r['kind']:<16} {to[:30]:<30} {' '.join((what or '').split())[:70]}")
    return 0


def _row(row_id: int) -> OutboundMessage:
    row = OutboundMessage.get_or_none(OutboundMessage.id == row_id) if row_id <= MAX_ID \
        else None
    if row is None:
        raise UserError(f"no outbox row {row_id}; see `mailsup outbox list`")
    return row


def cmd_show(args) -> int:
    open_settings(args)
    row = _row(args.id)
    print_record(outbox_as_dict(row), bytes(row.raw), args, _shown)
    return 0


def _shown(key: str, value):
    if key == "to":
        return ", ".join(value)
    return "" if value is None else value


def cmd_retry(args) -> int:
    settings = open_settings(args)
    now = parse_now(args.now)
    if args.all_failed == (args.id is not None):
        raise UserError("give one outbox id or --all-failed; see `mailsup outbox list "
                        "--status failed`")
    if args.id is not None:
        row = _row(args.id)
        if row.status not in RETRYABLE:
            raise UserError(f"outbox {row.id} is {row.status}; only failed or pending mail "
                            "is retried")
        ids = [row.id]
    else:
        ids = [r.id for r in OutboundMessage.select(OutboundMessage.id)
               .where(OutboundMessage.status == "failed").order_by(OutboundMessage.id)]
        if not ids:
            print("no failed mail to retry", file=sys.stderr)
            return 0
    # Conditional, like /ops: a row being sent right now is left alone.
    (OutboundMessage.update(status="pending", next_attempt_at=utcnow_naive(now))
     .where(OutboundMessage.id.in_(ids) & OutboundMessage.status.in_(RETRYABLE)).execute())
    report = sender.flush(settings, now)
    for row in OutboundMessage.select().where(OutboundMessage.id.in_(ids)) \
            .order_by(OutboundMessage.id):
        state = "sent" if row.status == "sent" else \
            f"{row.status}: {' '.join((row.last_error or '').split())[:200]}"
        print(f"outbox {row.id} ({row.kind} to {', '.join(row.recipients or [])}): {state}")
    still = [i for i in ids if i not in report.sent]
    return 0 if not still else EXIT_TEMPFAIL


def add_commands(sub) -> None:
    box = sub.add_parser("outbox", help="what mailsup sent, what waits and why, what failed")
    inner = box.add_subparsers(dest="outbox_command", required=True)
    listing = inner.add_parser("list", help="outbox rows, newest last")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)
    show = inner.add_parser("show", help="one outbox row")
    show.add_argument("id", type=int)
    show.add_argument("--raw", action="store_true", help="print the raw message too")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)
    retry = inner.add_parser("retry", help="queue failed (or waiting) mail again and send it now")
    retry.add_argument("id", type=int, nargs="?")
    retry.add_argument("--all-failed", action="store_true", help="every failed row")
    retry.add_argument("--now", help="ISO 8601 instant (default: the clock)")
    retry.set_defaults(func=cmd_retry)
