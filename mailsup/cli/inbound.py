"""``mailsup inbound …``: the CLI door and the operator's view of stored mail."""

from __future__ import annotations

import logging
import sys
from email import message_from_bytes, policy

from peewee import InterfaceError, OperationalError

from mailsup.cli.common import (
    EXIT_ERROR,
    Progress,
    open_settings,
    parse_now,
    print_json,
    print_record,
)
from mailsup.clock import stamp
from mailsup.errors import UserError
from mailsup.inbound import autoreply, runner
from mailsup.inbound.doors.pipe import EX_TEMPFAIL, deliver
from mailsup.models import InboundMessage
from mailsup.outbound import sender


def cmd_deliver(args) -> int:

    try:
        settings = open_settings(args)
        now = parse_now(args.now)
        code, results = deliver(settings, args.files, now, envelope_from=args.sender,
                                envelope_to=[args.recipient] if args.recipient else None)
    except (OperationalError, InterfaceError) as exc:
        # The MTA keeps the message and tries again: nothing is lost.
        print(f"mailsup: error: cannot store the message now ({exc}); try again later",
              file=sys.stderr)
        return EX_TEMPFAIL
    _send_answers(settings, now)
    if args.json:
        print_json([r.__dict__ for r in results])
    else:
        for result in results:
            print(result.line())
    return code


def _send_answers(settings, now) -> None:
    """Receipts go out now rather than at the next tick; a relay problem waits for it."""
    try:
        sender.flush(settings, now)
    except Exception as exc:  # noqa: BLE001 - the mail is stored and queued already
        print(f"mailsup: warning: answers stay queued for the next tick: {exc}",
              file=sys.stderr)


def _row(args):
    row = InboundMessage.get_or_none(InboundMessage.id == args.id)
    if row is None:
        raise UserError(f"no inbound message {args.id}; see `mailsup inbound list`")
    return row


def inbound_as_dict(row) -> dict:
    msg = message_from_bytes(bytes(row.raw), policy=policy.compat32)
    return {"id": row.id, "received_at": stamp(row.received_at),
            "source": row.source, "mailbox": row.mailbox, "uidvalidity": row.uidvalidity,
            "uid": row.uid, "message_id": row.message_id, "from": str(msg.get("From", "")),
            "subject": str(msg.get("Subject", "")), "status": row.status, "kind": row.kind,
            "reasons": row.reasons or [], "sup": row.sup_id, "size": len(bytes(row.raw))}


def anatomy(raw: bytes) -> dict:
    """What mail-parser finds in a stored message: MIME defects and attachments.

    mail-parser collects every defect the stdlib parser records, per part, which
    is what an operator needs to tell a broken client from a broken mailsup.
    """
    import mailparser

    logging.getLogger("mailparser").setLevel(logging.ERROR)
    try:
        parsed = mailparser.parse_from_bytes(raw)
    except Exception as exc:  # noqa: BLE001 - the operator still sees the raw message
        return {"defects": [f"mail-parser could not read it: {type(exc).__name__}"],
                "attachments": []}
    defects = [f"{where}: {what}" for entry in parsed.defects for where, items in entry.items()
               for what in items]
    attachments = [{"filename": a.get("filename"), "content_type": a.get("mail_content_type"),
                    "size": len(a.get("payload") or "")} for a in parsed.attachments]
    return {"defects": defects, "attachments": attachments}


def cmd_list(args) -> int:
    open_settings(args)
    query = InboundMessage.select().order_by(InboundMessage.id.desc()).limit(args.limit)
    if args.status:
        query = query.where(InboundMessage.status == args.status)
    rows = [inbound_as_dict(r) for r in reversed(list(query))]
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no inbound messages match" + (f" --status {args.status}" if args.status else ""),
              file=sys.stderr)
    else:
        print(f"{'id':>6}  {'received (UTC)':<16}  {'door':<5} {'status':<11} {'kind':<14} "
              f"{'from':<30} why")
    for r in rows:
        why = "; ".join(r["reasons"])[:70]
        print(f"{r['id']:>6}  {r['received_at'][:16]}  {r['source']:<5} {r['status']:<11} "
              f"{(r['kind'] or '-'):<14} {r['from'][:30]:<30} {why}")
    held = autoreply.suppressed_count()
    if held:
        print(f"{held} answer{'s' if held != 1 else ''} held back by loop protection "
              "(`mailsup inbound show ID` says why)")
    return 0


def cmd_show(args) -> int:
    open_settings(args)
    row = _row(args)
    data = inbound_as_dict(row) | anatomy(bytes(row.raw)) | {
        "held_back": autoreply.suppressed_for(row.id)}
    print_record(data, bytes(row.raw), args, _shown)
    return 0


def _shown(key: str, value):
    if key == "attachments":
        return ", ".join(f"{a['filename'] or '(unnamed)'} ({a['content_type']}, "
                         f"{a['size']} bytes)" for a in value) or "none"
    if key in ("defects", "reasons"):
        return "; ".join(value) or "none"
    if key == "held_back":  # answers loop protection did not send
        return "; ".join(f"{h['answer']} to {h['to']}: {h['why']}" for h in value) or "none"
    return value


def cmd_retry(args) -> int:
    settings = open_settings(args)
    now = parse_now(args.now)
    if args.all == (args.id is not None):
        raise UserError("give one inbound id or --all (every quarantined message); see "
                        "`mailsup inbound list --status quarantined`")
    if args.all:
        return _retry_all(settings, now, Progress.for_args(args))
    row = _row(args)
    if row.status == "applied" and not args.force:
        raise UserError(f"inbound {row.id} was already applied; use --force to run it again")
    ctx = runner.retry(settings, row, now)
    print(f"inbound {row.id}: {ctx.status} ({ctx.kind}) {'; '.join(ctx.reasons)}")
    return 0


def _retry_all(settings, now, progress: Progress) -> int:
    """Every quarantined message again (after a fix), with progress on a terminal."""
    ids = [r.id for r in InboundMessage.select(InboundMessage.id)
           .where(InboundMessage.status == "quarantined").order_by(InboundMessage.id)]
    if not ids:
        print("no quarantined mail to retry", file=sys.stderr)
        return 0
    still = 0
    try:
        for index, row_id in enumerate(ids, start=1):
            progress(f"inbound retry: {index}/{len(ids)}")
            row = InboundMessage.get_by_id(row_id)
            ctx = runner.retry(settings, row, now)
            still += ctx.status == "quarantined"
            print(f"inbound {row.id}: {ctx.status} ({ctx.kind}) {'; '.join(ctx.reasons)}")
    finally:
        progress.done()
    _send_answers(settings, now)
    return EXIT_ERROR if still else 0


def add_commands(sub) -> None:
    inbound = sub.add_parser("inbound", help="receive mail and inspect what was received")
    inner = inbound.add_subparsers(dest="inbound_command", required=True)
    deliver = inner.add_parser("deliver", help="push raw messages (files or - for stdin) "
                                               "through the inbound pipeline")
    deliver.add_argument("files", nargs="+", metavar="FILE")
    deliver.add_argument("--sender", help="envelope sender (for an MTA pipe: ${sender})")
    deliver.add_argument("--recipient", help="envelope recipient (${original_recipient})")
    deliver.add_argument("--now", help="ISO 8601 instant (default: the clock)")
    deliver.add_argument("--json", action="store_true")
    deliver.set_defaults(func=cmd_deliver)
    listing = inner.add_parser("list", help="stored messages and their outcomes")
    listing.add_argument("--status", choices=["new", "processing", "applied", "refused",
                                              "ignored", "quarantined"])
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)
    show = inner.add_parser("show", help="one stored message")
    show.add_argument("id", type=int)
    show.add_argument("--raw", action="store_true", help="print the raw message too")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)
    retry = inner.add_parser("retry", help="run a stored message through the pipeline again")
    retry.add_argument("id", type=int, nargs="?")
    retry.add_argument("--all", action="store_true", help="every quarantined message")
    retry.add_argument("--force", action="store_true", help="even if it was applied")
    retry.add_argument("--now", help="ISO 8601 instant (default: the clock)")
    retry.set_defaults(func=cmd_retry)
