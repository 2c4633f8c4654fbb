"""The one inbound pipeline: parse → dedupe → classify → authenticate → route.

Each step is a small function ``(ctx) -> None`` that may settle the message
(set ``ctx.status``), which stops the pipeline. Rows are processed with one
loop shape: claim one, run it in a transaction, commit; on an exception the
row is quarantined with the reason and the loop goes on (Mailman's shunt).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

from mailsup.config import Settings
from mailsup.inbound import authenticate
from mailsup.inbound import classify as classify_mod
from mailsup.inbound import handlers as routes
from mailsup.models import Effect, InboundMessage, OutboundMessage, db, utcnow_naive

log = logging.getLogger("mailsup.inbound")

PROCESSING_LEASE = timedelta(minutes=10)


@dataclass
class Ctx:
    settings: Settings
    now: datetime
    row: InboundMessage
    msg: EmailMessage | None = None
    verdict: classify_mod.Verdict | None = None
    identity: authenticate.Identity | None = None
    status: str | None = None  # applied | refused | ignored | quarantined
    kind: str | None = None
    reasons: list[str] = field(default_factory=list)
    sup_id: int | None = None

    def settle(self, status: str, kind: str, *reasons: str) -> None:
        self.status, self.kind = status, kind
        self.reasons.extend(r for r in reasons if r)


def parse(ctx: Ctx) -> None:
    try:
        ctx.msg = message_from_bytes(bytes(ctx.row.raw), policy=policy.default)
        broken = drop_broken_headers(ctx.msg)
    except Exception as exc:  # noqa: BLE001 - broken MIME is data, not a crash
        ctx.settle("quarantined", "unparsable", f"cannot parse message: {exc}")
        return
    if broken:
        ctx.reasons.append(f"unreadable header(s) ignored: {', '.join(sorted(set(broken)))}")


def drop_broken_headers(msg: EmailMessage) -> list[str]:
    """Headers are parsed lazily on access; find the ones that raise, and drop them.

    A From that cannot be parsed is then simply absent, which the later steps
    already treat as "unknown sender": refused and kept, never a crash.
    """
    broken = []
    for name, value in msg.raw_items():
        try:
            str(msg.policy.header_fetch_parse(name, value))
        except Exception:  # noqa: BLE001 - any parser failure means "unreadable"
            broken.append(name)
    for name in set(broken):
        del msg[name]
    return broken


def dedupe(ctx: Ctx) -> None:
    """The same mail through two doors (IMAP and SMTP) is applied once."""
    if not ctx.row.message_id:
        return
    twin = (InboundMessage.select(InboundMessage.id)
            .where((InboundMessage.message_id == ctx.row.message_id)
                   & (InboundMessage.id != ctx.row.id)
                   & (InboundMessage.status.in_(("applied", "refused", "ignored"))))
            .first())
    if twin is not None:
        ctx.settle("ignored", "duplicate", f"same Message-ID as inbound {twin.id}")


def classify(ctx: Ctx) -> None:
    ctx.verdict = classify_mod.classify(ctx.msg, ctx.row.envelope_from)
    if ctx.verdict.kind == "bounce":
        record_bounce(ctx)
    elif ctx.verdict.kind == "automatic":
        ctx.settle("ignored", "automatic", ctx.verdict.reason)


def record_bounce(ctx: Ctx) -> None:
    reference = authenticate.token_reference(
        ctx.settings, authenticate.recipient_addresses(ctx.msg, ctx.row.envelope_to))
    target = None
    if reference and reference.kind == "bounce":
        target = OutboundMessage.get_or_none(OutboundMessage.id == reference.ident)
    bounce = ctx.verdict.bounce
    if target is None and bounce and bounce.original_message_id:
        target = OutboundMessage.get_or_none(
            OutboundMessage.message_id == bounce.original_message_id)
    # Only a permanent DSN about a mail that was really sent changes anything:
    # a pending row must never be suppressed by something claiming to be a bounce.
    if target is not None and bounce is not None and bounce.permanent \
            and target.status == "sent":
        target.status = "bounced"
        target.last_error = f"bounced: {bounce.status}"
        target.save()
    what = f"outbound {target.id} ({target.kind})" if target else "no known outbound message"
    ctx.settle("ignored", "bounce", f"{ctx.verdict.reason}; {what}")


def identify(ctx: Ctx) -> None:
    ctx.identity = authenticate.identify(ctx.settings, ctx.msg, ctx.row.envelope_to)
    ok, why = authenticate.dmarc_ok(ctx.settings, ctx.msg)
    if not ok:
        ctx.settle("refused", "unauthenticated", f"DMARC required: {why}")


def route(ctx: Ctx) -> None:
    if Effect.get_or_none(Effect.key == f"applied:{ctx.row.id}") is not None:
        # `inbound retry --force` of a message whose effects already happened.
        ctx.settle("ignored", "already_applied", "this message was applied before; "
                   "its notes, flags and amendments are not repeated")
        return
    reference = ctx.identity.reference
    handler = routes.ROUTES.get(reference.kind if reference else None, routes.unreferenced)
    handler(ctx)
    if ctx.status is None:
        ctx.settle("ignored", "unhandled", "no handler settled the message")


STEPS: tuple[tuple[str, Callable[[Ctx], None]], ...] = (
    ("parse", parse),
    ("dedupe", dedupe),
    ("classify", classify),
    ("authenticate", identify),
    ("route", route),
)


def _save(ctx: Ctx) -> None:
    row = ctx.row
    row.status, row.kind, row.reasons = ctx.status, ctx.kind, ctx.reasons
    row.sup = ctx.sup_id
    row.processed_at = utcnow_naive(ctx.now)
    row.save()
    if ctx.status == "applied":
        Effect.insert(key=f"applied:{row.id}", kind="applied", created_at=row.processed_at) \
            .on_conflict_ignore().execute()


def process(settings: Settings, row: InboundMessage, now: datetime) -> Ctx:
    """Run one stored message through the pipeline; never raises."""
    ctx = Ctx(settings, now, row)
    try:
        with db.atomic():
            for _name, step in STEPS:
                step(ctx)
                if ctx.status:
                    break
            _save(ctx)
    except Exception as exc:  # noqa: BLE001 - a bad message must not stop the loop
        log.exception("inbound %d quarantined", row.id)
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        ctx = Ctx(settings, now, InboundMessage.get_by_id(row.id))
        ctx.settle("quarantined", "error", f"internal error: {detail}; "
                   "fix and run `mailsup inbound retry`")
        _save(ctx)
    log.info("inbound %d: %s (%s) %s", row.id, ctx.status, ctx.kind, "; ".join(ctx.reasons))
    return ctx


def claim_next(now: datetime) -> InboundMessage | None:
    """Take the oldest new row; the conditional update makes two workers safe."""
    stamp = utcnow_naive(now)
    (InboundMessage.update(status="new")
     .where((InboundMessage.status == "processing")
            & (InboundMessage.processed_at < stamp - PROCESSING_LEASE)).execute())
    for candidate in (InboundMessage.select(InboundMessage.id)
                      .where(InboundMessage.status == "new").order_by(InboundMessage.id)
                      .limit(20)):
        row = claim_row(candidate.id, now)
        if row is not None:
            return row
    return None


def claim_row(row_id: int, now: datetime) -> InboundMessage | None:
    taken = (InboundMessage.update(status="processing", processed_at=utcnow_naive(now))
             .where((InboundMessage.id == row_id) & (InboundMessage.status == "new")).execute())
    return InboundMessage.get_by_id(row_id) if taken == 1 else None


def process_pending(settings: Settings, now: datetime, limit: int | None = None) -> list[Ctx]:
    done = []
    while limit is None or len(done) < limit:
        row = claim_next(now)
        if row is None:
            break
        done.append(process(settings, row, now))
    return done


def retry(settings: Settings, row: InboundMessage, now: datetime) -> Ctx:
    """Run a stored message again (after a fix); answers already sent stay single."""
    return process(settings, row, now)
