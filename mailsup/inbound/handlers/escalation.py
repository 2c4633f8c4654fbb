"""A delivery manager's reply to a blocker escalation: relayed, recorded, maybe resolved.

The reply is authentic with the signed escalation address (or a thread to the
escalation mail) AND a From that is an address of a manager the escalation was
sent to. Its own text (no quote, greeting or signature) is relayed to the
developer in the thread of their SUP and kept on the escalation as the
blocker's acknowledgement; "resolved" ("fixed", "done") marks the blocker
resolved, which the receipt and the team digest then show. Anyone else gets a
clear answer, and nothing is applied or relayed; the mail stays stored.
"""

from __future__ import annotations

from mailsup import sup as sups
from mailsup import tokens
from mailsup.clock import stamp, utcnow_naive
from mailsup.inbound import autoreply
from mailsup.inbound.ctx import Ctx
from mailsup.inbound.reading import body, trim
from mailsup.inbound.reading.fields import is_greeting, is_sign_off, says_resolved
from mailsup.models import Effect, Keys
from mailsup.outbound import compose, context, messages, outbox
from mailsup.outbound.links import Links

MAX_RELAYED = 4000  # characters of a manager's reply kept and relayed


def own_text(text: str) -> str:
    """What the manager wrote: above the quote, without greeting, sign-off or signature."""
    lines = [line.rstrip() for line in
             trim.strip_signature(trim.trim(text, keep_interleaved=False)).splitlines()]
    while lines and (not lines[0].strip() or is_greeting(lines[0])):
        lines.pop(0)
    for i in range(max(0, len(lines) - 4), len(lines)):
        tail = [t.strip() for t in lines[i + 1:] if t.strip()]
        if is_sign_off(lines[i]) and all(len(t.split()) <= 4 and ":" not in t for t in tail):
            lines = lines[:i]
            break
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)[:MAX_RELAYED]


def handle(ctx: Ctx) -> None:
    if ctx.verdict and ctx.verdict.kind != "person":
        ctx.settle("ignored", ctx.verdict.kind, ctx.verdict.reason)  # never relay robots
        return
    effect = Effect.get_or_none((Effect.id == ctx.identity.reference.ident)
                                & (Effect.kind == "escalation"))
    if effect is None:
        ctx.settle("refused", "escalation_reply", "the token names no escalation")
        return
    sup = effect.sup
    ctx.sup_id = sup.id
    managers = set((effect.data or {}).get("to") or [])
    person = ctx.identity.person
    if person is None or not (person.addresses() & managers):
        who = ctx.identity.sender or "(no From)"
        _answer(ctx, effect, "refused", problem=(
            f"{who} is not one of the delivery managers this escalation was sent to, so "
            f"the reply was not passed on to {sup.developer.name}."))
        ctx.settle("refused", "escalation_reply",
                   f"{who} is not a delivery manager of {sup.reference}'s escalation "
                   f"({', '.join(sorted(managers))}); nothing relayed or recorded")
        return
    text = own_text(body.reply_text(ctx.msg))
    if not text.strip():
        _answer(ctx, effect, "refused", problem="the reply has no text of its own above "
                "the quoted escalation, so there was nothing to pass on.")
        ctx.settle("refused", "escalation_reply", "no text above the quoted escalation")
        return
    resolved = says_resolved(text)
    _record(ctx, effect, person, text, resolved)
    _relay(ctx, effect, person.name, text, resolved)
    _answer(ctx, effect, "resolved" if resolved else "relayed")
    ctx.settle("applied", "escalation_reply",
               f"relayed to {sup.developer.email}; blocker of {sup.reference} "
               + ("resolved" if resolved else "acknowledged"))


def _record(ctx: Ctx, effect: Effect, person, text: str, resolved: bool) -> None:
    """The manager's answer, kept on the blocker's thread (once per inbound message)."""
    data = dict(effect.data or {})
    acks = [a for a in data.get("acks") or [] if a.get("inbound") != ctx.row.id]
    entry = {"by": ctx.identity.sender, "name": person.name, "at": stamp(utcnow_naive(ctx.now)),
             "inbound": ctx.row.id, "text": text}
    data["acks"] = [*acks, entry]
    if resolved and not data.get("resolved"):
        data["resolved"] = {k: entry[k] for k in ("by", "name", "at", "inbound")}
    effect.data = data
    effect.save()


def _relay(ctx: Ctx, effect: Effect, manager: str, text: str, resolved: bool) -> None:
    """To the developer, threaded to their SUP mail; a reply to it reaches the manager."""
    sup = effect.sup
    blockers = (effect.data or {}).get("blockers") or sup.blockers or ""
    request = sups.request_message(sup)
    thread = [request.message_id] if request else None
    outbox.enqueue(ctx.settings, key=Keys.answer("blocker_reply", ctx.row.id),
                   kind="blocker_reply", to=[sup.developer.email],
                   rendered=compose.render(messages.blocker_reply(sup, manager, text, resolved,
                                                                  blockers)),
                   now=ctx.now, sup=sup, reply_to=ctx.identity.sender,
                   in_reply_to=thread[0] if thread else None, references=thread)


def _answer(ctx: Ctx, effect: Effect, outcome: str, problem: str = "") -> None:
    if not ctx.identity.sender:
        return
    person = ctx.identity.person
    sup = effect.sup
    autoreply.answer(
        ctx.settings, ctx.row, kind="escalation_answer",
        message=messages.escalation_answer(
            context.first_name(person.name) if person else "", sup, outcome, ctx.subject,
            developer=sup.developer.name, problem=problem, links=Links.of(ctx.settings)),
        to=ctx.identity.sender, now=ctx.now, sup=sup, unauthenticated=person is None,
        own=outcome != "refused",
        # Replying to the answer works like replying to the escalation.
        reply_to=tokens.address_for(ctx.settings, "e", effect.id))
