"""Mail to a signed bounce address, and delivery reports about mail we sent.

A permanent DSN about a mail that was really sent marks that outbox row
``bounced``; an out-of-office reply to the Return-Path (RFC 3834) marks the
developer's SUP away, and its return date sets their leave whatever mail it
answers (a digest, a reminder).
"""

from __future__ import annotations

from mailsup.inbound import authenticate, away
from mailsup.inbound.ctx import Ctx
from mailsup.models import OutboundMessage


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


def handle(ctx: Ctx) -> None:
    """Mail to a signed bounce address that is no DSN: usually an auto-responder
    answering the Return-Path (RFC 3834), which still tells us the developer is away."""
    sent = OutboundMessage.get_or_none(OutboundMessage.id == ctx.identity.reference.ident)
    person = ctx.identity.person
    if ctx.verdict and ctx.verdict.kind == "out_of_office" and sent is not None \
            and person is not None and person.email in (sent.recipients or []):
        notes = []
        if sent.sup_id and sent.sup.developer_id == person.id:
            sup = sent.sup
            sup.away = True
            sup.save()
            ctx.sup_id = sup.id
            notes.append(f"{sup.reference} marked away (no nag)")
        away.from_out_of_office(ctx, person)
        ctx.settle("ignored", "out_of_office", ctx.verdict.reason, *notes)
        return
    ctx.settle("ignored", "bounce", "mail to a bounce address that is not a delivery report")
