"""A developer's reply to their SUP: read it, apply it, or explain what is missing."""

from __future__ import annotations

from mailsup import sup as sups
from mailsup.directory import repos_of
from mailsup.inbound import autoreply, away
from mailsup.inbound.ctx import Ctx
from mailsup.inbound.handlers.alias import keep_and_notify
from mailsup.inbound.reading import body
from mailsup.inbound.reading import sup_reply as reply_parser
from mailsup.models import InboundMessage, Sup
from mailsup.outbound import context, messages
from mailsup.outbound.links import Links

HELP_WORDS = {"help", "?", "help me", "usage"}


def handle(ctx: Ctx) -> None:
    sup = sups.for_reply(ctx.identity.reference.ident)  # with its request mail, one query
    if sup is None:
        ctx.settle("refused", "sup_reply", "the token names a SUP that does not exist")
        return
    ctx.sup_id = sup.id
    if not _authorised(ctx, sup):
        return
    if ctx.verdict.kind == "out_of_office":
        sup.away = True
        sup.save()
        away.from_out_of_office(ctx, sup.developer)  # its return date sets leave
        ctx.settle("ignored", "out_of_office",
                   f"{ctx.verdict.reason}; {sup.reference} marked away (no nag)")
        return
    text = away.take_command(ctx, sup.developer, body.reply_text(ctx.msg))  # "away until …"
    if text is None:
        return
    if text.strip().lower().rstrip(".!") in HELP_WORDS:
        _send_help(ctx, sup)
        return
    _apply(ctx, sup, text)


def _authorised(ctx: Ctx, sup: Sup) -> bool:
    identity = ctx.identity
    identity.known_as(sup.developer)  # read with the SUP: the sender is not read again
    if identity.person is not None and identity.person.id == sup.developer_id:
        sup.developer = identity.person  # the same row, already read: not again lazily
        _attach_client(ctx, sup)
        return True
    if identity.person is None and identity.sender:
        # Nobody's address (her phone, say): kept, and she is asked at her own.
        keep_and_notify(ctx, sup)
        return False
    reason = (f"From {identity.sender or '(none)'} is not an address of "
              f"{sup.developer.email}, whose {sup.reference} this is")
    ctx.settle("refused", "sup_reply", reason)
    return False


def _attach_client(ctx: Ctx, sup: Sup) -> None:
    """The SUP's client, read once per pass (``ctx.memo``) rather than once per reply."""
    key = ("client", sup.client_id)
    if key not in ctx.memo:
        ctx.memo[key] = sup.client
    sup.client = ctx.memo[key]


def _repos(ctx: Ctx, sup: Sup) -> list[str]:
    key = ("repos", sup.client_id)
    if key not in ctx.memo:
        ctx.memo[key] = repos_of(sup.client)
    return ctx.memo[key]


def _sent_text(sup: Sup) -> str:
    request = sups.request_message(sup)
    return request.text_body if request else sups.render_request(sup).text


def _newer_applied(ctx: Ctx, sup: Sup):
    """A reply applied after this one arrived: replaying this one must not undo it."""
    if sup.submitted_at is None:  # an applied SUP reply always submits: none was
        return None
    return (InboundMessage.select().where(
        (InboundMessage.sup == sup) & (InboundMessage.status == "applied")
        & (InboundMessage.kind == "sup_reply") & (InboundMessage.id != ctx.row.id)
        & (InboundMessage.received_at > ctx.row.received_at)).first())


def _apply(ctx: Ctx, sup: Sup, text: str) -> None:
    """Apply what was understood; refuse only a reply that leaves the SUP without a plan."""
    newer = _newer_applied(ctx, sup)
    if newer is not None:
        ctx.settle("ignored", "sup_reply", f"older than inbound {newer.id}, which was "
                   "applied already; not replacing it")
        return
    parsed = reply_parser.parse_reply(text, _sent_text(sup),
                                      context.assigned_tickets(sup.footprint),
                                      _repos(ctx, sup), previous_plan=sup.previous_plan)
    answer, given = sups.answer_after(sup, parsed.as_fields(), parsed.given)
    reading = reading_of(parsed, given)
    if not answer["plan"]:
        _refuse(ctx, sup, parsed, answer, reading)
        return
    outcome = sups.submit(ctx.settings, sup, parsed.as_fields(), ctx.now, ctx.row.id, given)
    # Sent once per blocker text; a replacement or the next day's repeat says where it stands.
    blocker = sups.escalate_blockers(ctx.settings, sup, answer["blockers"], ctx.now, ctx.row.id)
    escalated = blocker is not None and blocker["state"] != "not_sent"
    autoreply.answer(ctx.settings, ctx.row, kind="receipt",
                     message=messages.receipt(sup, answer, outcome, escalated, ctx.subject,
                                              reading=reading, links=Links.of(ctx.settings),
                                              blocker=blocker, still_open=_still_open(sup)),
                     to=ctx.identity.sender, now=ctx.now, sup=sup,
                     reply_to=sups.reply_to(ctx.settings, sup), auto_submitted="auto-generated",
                     own=True)
    ctx.settle("applied", "sup_reply", f"{sup.reference} {outcome}",
               *(f"not understood: {u.line[:200]!r}: {u.problem}" for u in parsed.unclear))


def _still_open(sup: Sup) -> Sup | None:
    """The developer's latest SUP for the same client, if it is newer and still open:
    a reply to an older SUP (yesterday's reminder) applies there and says so."""
    if "_later_sup_id" in sup.__dict__:  # its id came with the SUP (sups.for_reply)
        later_id = sup.__dict__["_later_sup_id"]
        later = Sup.get_or_none(Sup.id == later_id) if later_id is not None else None
        return later if later is not None and later.status == "open" else None
    later = (Sup.select().where((Sup.developer == sup.developer_id)
                                & (Sup.client == sup.client_id) & (Sup.day > sup.day))
             .order_by(Sup.day.desc()).first())
    return later if later is not None and later.status == "open" else None


def _refuse(ctx: Ctx, sup: Sup, parsed, answer: dict, reading: dict) -> None:
    """No plan in any form: keep what was understood as a draft and say what is missing."""
    sups.keep_draft(sup, answer, ctx.row.id)
    autoreply.answer(ctx.settings, ctx.row, kind="refusal",
                     message=messages.refusal(sup, answer, parsed.problems, parsed.unread,
                                              ctx.subject, reading=reading,
                                              links=Links.of(ctx.settings),
                                              reply_address=sups.reply_to(ctx.settings, sup)),
                     to=ctx.identity.sender, now=ctx.now, sup=sup,
                     reply_to=sups.reply_to(ctx.settings, sup), own=True)
    ctx.settle("refused", "sup_reply", *parsed.problems)


def reading_of(parsed, given: list[str]) -> dict:
    """What the receipt or refusal says about how the reply was read."""
    return {"unclear": [{"line": u.line, "problem": u.problem} for u in parsed.unclear],
            "plan_source": parsed.plan_source if "plan" in given else None,
            "notes": list(parsed.notes), "given": given, "typed": parsed.typed}


def _send_help(ctx: Ctx, sup: Sup) -> None:
    autoreply.answer(ctx.settings, ctx.row, kind="help",
                     message=messages.help_answer(sup, ctx.subject, Links.of(ctx.settings)),
                     to=ctx.identity.sender, now=ctx.now, sup=sup,
                     reply_to=sups.reply_to(ctx.settings, sup))
    ctx.settle("applied", "help", "sent the short-form help")


def closed(ctx: Ctx, day) -> None:
    """A reply whose address is older than ``[mailsup] token_days``: "this SUP is closed".

    Only the developer of a SUP that the expired address names hears about it;
    anything else (a digest's, a stranger's) is refused with the reason only.
    """
    reference, days = ctx.identity.reference, ctx.settings.token_days
    reason = (f"the reply address is from {day:%Y-%m-%d}, older than {days} days "
              "([mailsup] token_days): closed")
    sup = Sup.get_or_none(Sup.id == reference.ident) if reference.kind == "sup" else None
    if sup is not None and ctx.identity.person is not None \
            and ctx.identity.person.id == sup.developer_id:
        ctx.sup_id = sup.id
        autoreply.answer(ctx.settings, ctx.row, kind="refusal",
                         message=messages.sup_closed(sup, days, ctx.subject,
                                                     Links.of(ctx.settings)),
                         to=ctx.identity.sender, now=ctx.now, sup=sup)
    ctx.settle("refused", "expired", reason)
