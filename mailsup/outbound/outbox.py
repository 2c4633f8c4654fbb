"""The only way out: every mail is an outbox row before anything sends it.

``enqueue`` is keyed by the side effect it belongs to (``sup_request:42``), so
calling it again — a second tick, a retry after a crash — returns the existing
row instead of queueing a second mail. ``enqueue_many`` does the same for a
whole batch (a tick's SUP mails) with one query for the keys already queued
and one prepared INSERT for all the rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from peewee import IntegrityError, chunked

from mailsup.clock import utcnow_naive
from mailsup.config import Settings
from mailsup.database import insert_rows
from mailsup.models import OutboundMessage, Sup, db
from mailsup.outbound import compose
from mailsup.outbound.compose import Rendered

log = logging.getLogger(__name__)


def enqueue(
    settings: Settings,
    *,
    key: str,
    kind: str,
    to: list[str],
    rendered: Rendered,
    now: datetime,
    sup: Sup | None = None,
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    auto_submitted: str = "auto-generated",
    look_first: bool = True,
) -> OutboundMessage:
    """``look_first`` False: the caller has just looked for ``key``; a row queued
    meanwhile is still found (the unique key refuses the second INSERT)."""
    existing = OutboundMessage.get_or_none(OutboundMessage.key == key) if look_first else None
    if existing is not None:
        return existing
    domain = compose.domain_of(settings.reply_address)
    message_id = compose.new_message_id(domain)
    raw = compose.build_bytes(
        rendered,
        sender=settings.smtp.sender,
        to=to,
        message_id=message_id,
        date=now,
        reply_to=reply_to,
        in_reply_to=in_reply_to,
        references=references,
        auto_submitted=auto_submitted,
    )
    stamp = utcnow_naive(now)
    try:
        with db.atomic():
            row = OutboundMessage.create(
                key=key, kind=kind, sup=sup, message_id=message_id, recipients=list(to),
                mail_from=settings.smtp.sender, subject=rendered.subject,
                text_body=rendered.text, raw=raw, created_at=stamp,
                next_attempt_at=stamp,
            )
    except IntegrityError:
        # Another worker queued the same side effect first: theirs is the one.
        return OutboundMessage.get(OutboundMessage.key == key)
    log.info("queued %s %s to %s", kind, message_id, ", ".join(to))
    return row


@dataclass(frozen=True)
class Outgoing:
    """One mail for ``enqueue_many``: ``enqueue``'s arguments, less settings and now."""

    key: str
    kind: str
    to: list[str]
    rendered: Rendered
    sup: Sup | None = None
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: list[str] | None = None
    auto_submitted: str = "auto-generated"


def queued_keys(keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` already have an outbox row (one query per chunk of keys)."""
    found: set[str] = set()
    for chunk in chunked(list(keys), 500):
        found |= {r.key for r in OutboundMessage.select(OutboundMessage.key)
                  .where(OutboundMessage.key.in_(chunk))}
    return found


def enqueue_many(settings: Settings, mails: list[Outgoing], now: datetime, *,
                 check_queued: bool = True) -> int:
    """Queue every mail whose key is not queued yet; returns how many were new.

    The same rows ``enqueue`` writes, in one prepared INSERT. A key another
    worker queued meanwhile is skipped by the database (theirs is the one), as
    ``enqueue``'s IntegrityError is; ``check_queued`` False skips the look-up
    first, for a caller that has just made it.
    """
    already = queued_keys(m.key for m in mails) if check_queued else set()
    domain = compose.domain_of(settings.reply_address)
    stamp = utcnow_naive(now)
    rows = []
    for mail in mails:
        if mail.key in already:
            continue
        already.add(mail.key)
        message_id = compose.new_message_id(domain)
        raw = compose.build_bytes(
            mail.rendered, sender=settings.smtp.sender, to=mail.to, message_id=message_id,
            date=now, reply_to=mail.reply_to, in_reply_to=mail.in_reply_to,
            references=mail.references, auto_submitted=mail.auto_submitted)
        rows.append({
            "key": mail.key, "kind": mail.kind, "sup": mail.sup, "message_id": message_id,
            "recipients": list(mail.to), "mail_from": settings.smtp.sender,
            "subject": mail.rendered.subject, "text_body": mail.rendered.text, "raw": raw,
            "status": "pending", "attempts": 0, "created_at": stamp, "next_attempt_at": stamp})
    with db.atomic():
        insert_rows(OutboundMessage, rows, ignore_conflicts=True)
    if rows:
        log.info("queued %d mails (%s)", len(rows), ", ".join(sorted({r["kind"] for r in rows})))
    return len(rows)
