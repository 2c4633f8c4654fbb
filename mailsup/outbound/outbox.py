"""The only way out: every mail is an outbox row before anything sends it.

``enqueue`` is keyed by the side effect it belongs to (``sup_request:42``), so
calling it again — a second tick, a retry after a crash — returns the existing
row instead of queueing a second mail.
"""

from __future__ import annotations

import logging
from datetime import datetime

from peewee import IntegrityError

from mailsup.clock import utcnow_naive
from mailsup.config import Settings
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
) -> OutboundMessage:
    existing = OutboundMessage.get_or_none(OutboundMessage.key == key)
    if existing is not None:
        return existing
    domain = compose.domain_of(settings.reply_address)
    message_id = compose.new_message_id(domain)
    message = compose.build(
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
                text_body=rendered.text, raw=message.as_bytes(), created_at=stamp,
                next_attempt_at=stamp,
            )
    except IntegrityError:
        # Another worker queued the same side effect first: theirs is the one.
        return OutboundMessage.get(OutboundMessage.key == key)
    log.info("queued %s %s to %s", kind, message_id, ", ".join(to))
    return row
