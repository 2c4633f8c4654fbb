"""Answers to inbound mail: threaded, marked auto-replied, rate-limited per address.

Every answer is keyed by the inbound row it answers, so re-running the
pipeline on a stored message never answers it twice; the per-address budget
means no loop with another robot can ever form (RFC 3834).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from mailsup.clock import utcnow_naive
from mailsup.config import Settings
from mailsup.models import AutoReplyLog, Effect, InboundMessage, Keys, OutboundMessage, Sup
from mailsup.outbound import compose, outbox

log = logging.getLogger(__name__)

BUDGET_PER_INTERVAL = 5


def within_budget(settings: Settings, address: str, now: datetime,
                  budget: int = BUDGET_PER_INTERVAL) -> bool:
    """Take one unit of the address's answer budget; False when it is spent."""
    stamp = utcnow_naive(now)
    interval = timedelta(minutes=settings.inbound.auto_reply_interval_minutes)
    entry, created = AutoReplyLog.get_or_create(address=address,
                                                defaults={"last_sent_at": stamp, "count": 0})
    if not created and stamp - entry.last_sent_at >= interval:
        entry.last_sent_at, entry.count = stamp, 0
    if entry.count >= budget:
        return False
    entry.count += 1
    entry.save()
    return True


def answer(settings: Settings, row: InboundMessage, *, kind: str, message: compose.Message,
           to: str, now: datetime, sup: Sup | None = None,
           reply_to: str | None = None, auto_submitted: str = "auto-replied",
           unauthenticated: bool = False) -> OutboundMessage | None:
    key = Keys.answer(kind, row.id)
    existing = OutboundMessage.get_or_none(OutboundMessage.key == key)
    if existing is not None:
        return existing
    # Mail without a valid reference can claim any From: it gets its own, tiny
    # budget, so spoofed mail never uses up the answers a real reply deserves.
    budget_key, budget = (Keys.unreferenced_budget(to), 1) if unauthenticated else (
        to, BUDGET_PER_INTERVAL)
    if not within_budget(settings, budget_key, now, budget):
        log.warning("not answering %s (%s): answer budget spent", to, kind)
        _record_suppressed(kind, row, to, now, sup)
        return None
    rendered = compose.render(message)
    # The thread: our original mail, then the reply this answers.
    original = OutboundMessage.get_or_none(OutboundMessage.key == Keys.sup_request(sup.id)) \
        if sup is not None else None
    references = [m for m in (original.message_id if original else None, row.message_id)
                  if m] or None
    return outbox.enqueue(settings, key=key, kind=kind, to=[to], rendered=rendered, now=now,
                          sup=sup, reply_to=reply_to, in_reply_to=row.message_id,
                          references=references, auto_submitted=auto_submitted)



def _record_suppressed(kind: str, row: InboundMessage, to: str, now: datetime,
                       sup: Sup | None) -> None:
    """Kept for the operator page: an answer held back is a decision, not silence."""
    Effect.insert(key=Keys.suppressed(kind, row.id), kind="suppressed", sup=sup,
                  created_at=utcnow_naive(now), data={"to": to, "answer": kind,
                                                      "inbound": row.id}) \
        .on_conflict_ignore().execute()
