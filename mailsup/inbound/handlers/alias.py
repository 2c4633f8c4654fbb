"""A reply from an address that is not the developer's: kept, and the developer asked.

A reply to a SUP with a valid reference but a From address nobody in the
directory has (the developer's phone, a private account) is not applied, but
kept; the developer's registered address gets a notice whose Reply-To is a
signed ``a`` address naming the kept reply. Replying "yes" to it FROM a
registered address adds the new address as an alias and applies every reply
kept from it for that developer. Anything else — a "yes" from another address,
after the kept reply was deleted, for an address that meanwhile belongs to
someone else — gets a clear answer, and nothing is applied or lost.

Notices are rate-limited: one per developer and address a day, and at most
``NOTICES_PER_DAY`` per developer.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy

from mailsup import tokens
from mailsup.clock import utcnow_naive
from mailsup.directory import person_by_address
from mailsup.inbound import authenticate, autoreply
from mailsup.inbound.ctx import Ctx
from mailsup.inbound.reading import body, trim
from mailsup.inbound.reading.fields import is_greeting
from mailsup.models import Alias, Effect, InboundMessage, Keys, OutboundMessage, Person, Sup
from mailsup.outbound import compose, context, messages, outbox
from mailsup.outbound.links import Links

NOTICES_PER_DAY = 3
KIND = "unregistered"  # the inbound kind of a kept reply waiting for confirmation
_YES = re.compile(r"^(?:yes|y|yep|yeah|ja|oui|s[ií]|sim|confirm(?:ed)?|that was me|"
                  r"it was me|it's me)\b", re.IGNORECASE)
_NO = re.compile(r"^(?:no|nope|nein|non|not me|that was not me|it wasn't me)\b", re.IGNORECASE)


# --- the kept reply and its notice ------------------------------------------

def keep_and_notify(ctx: Ctx, sup: Sup) -> None:
    """Keep a reply from an unregistered address and tell the developer about it."""
    sender = ctx.identity.sender
    developer = sup.developer
    sent = _notify(ctx, sup) if ctx.verdict.kind == "person" else None
    told = f"{developer.email} was asked to confirm it" if sent else (
        "no new notice (one about this address went out recently)" if ctx.verdict.kind
        == "person" else "no notice to an automatic reply")
    ctx.settle("refused", KIND, f"From {sender} is not an address of {developer.email}, "
               f"whose {sup.reference} this is; the reply is kept and {told}")


def _notify(ctx: Ctx, sup: Sup) -> OutboundMessage | None:
    developer, sender = sup.developer, ctx.identity.sender
    key = Keys.answer("alias_notice", ctx.row.id)
    existing = OutboundMessage.get_or_none(OutboundMessage.key == key)
    if existing is not None:
        return existing
    why = None
    if _recent_notice(developer, sender, ctx.now):
        why = f"a notice about {sender} went to {developer.email} in the last day"
    elif not autoreply.within_daily_cap(f"notice:{developer.email}", ctx.now, NOTICES_PER_DAY):
        why = f"{NOTICES_PER_DAY} notices to {developer.email} today already"
    if why:
        autoreply.record_suppressed("alias_notice", ctx.row, developer.email, ctx.now, sup, why)
        return None
    message = messages.alias_notice(sup, sender, ctx.subject, Links.of(ctx.settings))
    return outbox.enqueue(ctx.settings, key=key, kind="alias_notice", to=[developer.email],
                          rendered=compose.render(message), now=ctx.now, sup=sup,
                          reply_to=tokens.address_for(ctx.settings, "a", ctx.row.id),
                          auto_submitted="auto-replied")


def _recent_notice(developer: Person, sender: str, now) -> bool:
    since = utcnow_naive(now) - timedelta(days=1)
    for row in (OutboundMessage.select(OutboundMessage.key)
                .where((OutboundMessage.kind == "alias_notice")
                       & (OutboundMessage.created_at >= since))):
        kept = InboundMessage.get_or_none(InboundMessage.id == Keys.answer_inbound(row.key))
        if kept is not None and kept.sup_id and kept.sup.developer_id == developer.id \
                and _from(kept) == sender:
            return True
    return False


def _from(row: InboundMessage) -> str:
    return authenticate.from_address(message_from_bytes(bytes(row.raw), policy=policy.default))


# --- the developer's answer to the notice ------------------------------------

def handle(ctx: Ctx) -> None:
    if ctx.verdict and ctx.verdict.kind != "person":
        ctx.settle("ignored", ctx.verdict.kind, ctx.verdict.reason)
        return
    kept_id = ctx.identity.reference.ident
    notice = OutboundMessage.get_or_none(OutboundMessage.key == Keys.answer("alias_notice",
                                                                            kept_id))
    if notice is None or notice.sup_id is None:
        ctx.settle("refused", "alias_confirmation", "the token names no notice we sent")
        return
    sup = notice.sup
    developer = sup.developer
    ctx.sup_id = sup.id
    person = ctx.identity.person
    if person is None or person.id != developer.id:
        who = ctx.identity.sender or "(no From)"
        _answer(ctx, sup, "refused", "", problem=(
            f"a confirmation must come from {developer.email} (or another address already "
            f"registered for {developer.name}); {who} is not one. Nothing was added or "
            "applied."), own=False)
        ctx.settle("refused", "alias_confirmation",
                   f"{who} is not a registered address of {developer.email}; no alias added")
        return
    text = _first_line(body.reply_text(ctx.msg))
    kept = _kept(ctx, notice, kept_id)
    address = _from(kept) if kept is not None else ""
    if _NO.match(text):
        _answer(ctx, sup, "declined", address)
        ctx.settle("applied", "alias_confirmation", f"not confirmed: {address or 'the address'}"
                   " stays unregistered; the kept reply stays unapplied")
        return
    if not _YES.match(text):
        _answer(ctx, sup, "unclear", address)
        ctx.settle("refused", "alias_confirmation", f"not a yes or no: {text[:80]!r}")
        return
    if kept is None or not address:
        _answer(ctx, sup, "refused", address, problem=(
            "the reply this notice was about is no longer stored (an operator deleted it), "
            "so there is nothing to apply and no address was added. Please answer the SUP "
            "email again."))
        ctx.settle("refused", "alias_confirmation", f"kept inbound {kept_id} no longer exists;"
                   " nothing added or applied")
        return
    owner = person_by_address(address)
    if owner is not None and owner.id != developer.id:
        _answer(ctx, sup, "refused", address, problem=(
            f"{address} belongs to someone else in the directory, so it cannot become "
            f"yours by mail; nothing was added or applied, and the reply stays kept. "
            "Ask the operator to sort out the directory."))
        ctx.settle("refused", "alias_confirmation",
                   f"{address} is an address of {owner.email}; not added, nothing applied")
        return
    if owner is None:
        Alias.create(person=developer, email=address)
        Effect.insert(key=Keys.alias_by_mail(address), kind="alias_by_mail", sup=sup,
                      created_at=utcnow_naive(ctx.now),
                      data={"email": address, "person": developer.email,
                            "inbound": ctx.row.id}).on_conflict_ignore().execute()
    queued = _apply_kept(developer, address)
    _answer(ctx, sup, "added", address, applied=[r.sup.reference for r in queued])
    ctx.settle("applied", "alias_confirmation", f"{address} added as an alias of "
               f"{developer.email}", *(f"kept inbound {r.id} queued to be applied"
                                       for r in queued))


def _apply_kept(developer: Person, address: str) -> list[InboundMessage]:
    """Queue every reply kept from ``address`` for this developer again: the runner
    applies them next, as if they had just arrived from a registered address."""
    rows = [row for row in (InboundMessage.select().join(Sup, on=(InboundMessage.sup == Sup.id))
                            .where((InboundMessage.kind == KIND)
                                   & (InboundMessage.status == "refused")
                                   & (Sup.developer == developer.id))
                            .order_by(InboundMessage.id)) if _from(row) == address]
    if rows:
        (InboundMessage.update(status="new", processed_at=None)
         .where(InboundMessage.id.in_([r.id for r in rows])).execute())
    return rows


def _kept(ctx: Ctx, notice: OutboundMessage, kept_id: int) -> InboundMessage | None:
    """The reply the notice is about, if still stored. SQLite may give a deleted row's
    id to a later message, so the row must be that reply: same SUP, there before the
    notice."""
    kept = InboundMessage.get_or_none(InboundMessage.id == kept_id)
    if kept is None or kept.id == ctx.row.id or kept.sup_id != notice.sup_id \
            or kept.received_at > notice.created_at:
        return None
    return kept


def _first_line(text: str) -> str:
    for line in trim.trim(text, keep_interleaved=False).splitlines():
        if line.strip() and not is_greeting(line):
            return line.strip()
    return ""


def _answer(ctx: Ctx, sup: Sup, outcome: str, address: str, *, problem: str = "",
            applied: list[str] = (), own: bool = True) -> None:
    person = ctx.identity.person
    autoreply.answer(
        ctx.settings, ctx.row, kind="alias_answer",
        message=messages.alias_answer(
            context.first_name(person.name) if person else "", sup, outcome, address,
            ctx.subject, problem=problem,
            applied=list(applied),
            links=Links.of(ctx.settings)),
        to=ctx.identity.sender, now=ctx.now, sup=sup, own=own,
        unauthenticated=person is None,
        reply_to=tokens.address_for(ctx.settings, "a", ctx.identity.reference.ident))
