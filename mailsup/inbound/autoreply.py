"""Answers to inbound mail: threaded, marked auto-replied, rate-limited per address.

Every answer is keyed by the inbound row it answers, so re-running the
pipeline on a stored message never answers it twice; the per-address budget
means no loop with another robot can ever form (RFC 3834).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from peewee import Case

from mailsup import sup as sups
from mailsup.clock import utcnow_naive
from mailsup.config import Settings
from mailsup.inbound.ctx import first_run
from mailsup.models import AutoReplyLog, Effect, InboundMessage, Keys, OutboundMessage, Sup
from mailsup.outbound import compose, outbox

log = logging.getLogger(__name__)

BUDGET_PER_INTERVAL = 5


def within_budget(settings: Settings, address: str, now: datetime,
                  budget: int = BUDGET_PER_INTERVAL) -> bool:
    """Take one unit of the address's answer budget; False when it is spent."""
    stamp = utcnow_naive(now)
    interval = timedelta(minutes=settings.inbound.auto_reply_interval_minutes)
    # One upsert: a new address starts at 1; an old one starts again at 1 once its
    # interval is over, else counts on while under budget (WHERE false: spent).
    over = AutoReplyLog.last_sent_at <= stamp - interval
    taken = (AutoReplyLog.insert(address=address, last_sent_at=stamp, count=1)
             .on_conflict(conflict_target=[AutoReplyLog.address],
                          update={AutoReplyLog.count: Case(None, [(over, 1)],
                                                           AutoReplyLog.count + 1),
                                  AutoReplyLog.last_sent_at: Case(None, [(over, stamp)],
                                                                  AutoReplyLog.last_sent_at)},
                          where=over | (AutoReplyLog.count < budget))
             .as_rowcount().execute())
    return taken > 0


def answer(settings: Settings, row: InboundMessage, *, kind: str, message: compose.Message,
           to: str, now: datetime, sup: Sup | None = None,
           reply_to: str | None = None, auto_submitted: str = "auto-replied",
           unauthenticated: bool = False) -> OutboundMessage | None:
    key = Keys.answer(kind, row.id)
    existing = None if first_run(row) else OutboundMessage.get_or_none(OutboundMessage.key == key)
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
    original = sups.request_message(sup) if sup is not None else None
    references = [m for m in (original.message_id if original else None, row.message_id)
                  if m] or None
    return outbox.enqueue(settings, key=key, kind=kind, to=[to], rendered=rendered, now=now,
                          sup=sup, reply_to=reply_to, in_reply_to=row.message_id,
                          references=references, auto_submitted=auto_submitted,
                          look_first=False)  # looked above (or the row is new)



def _record_suppressed(kind: str, row: InboundMessage, to: str, now: datetime,
                       sup: Sup | None) -> None:
    """Kept for the operator page: an answer held back is a decision, not silence."""
    Effect.insert(key=Keys.suppressed(kind, row.id), kind="suppressed", sup=sup,
                  created_at=utcnow_naive(now), data={"to": to, "answer": kind,
                                                      "inbound": row.id}) \
        .on_conflict_ignore().execute()
