"""Answers to inbound mail: threaded, marked auto-replied, and loop-protected.

Every answer is keyed by the inbound row it answers, so re-running the
pipeline on a stored message never answers it twice.

Loop protection (RFC 3834) throttles only what a loop or a forger can use:
answers to unknown or unauthenticated senders, and the answers that report
nothing applied (help, "please reply to the SUP email"). Those have a budget
per address and interval, a daily cap (so a slow auto-responder cannot keep a
loop going all day), and are never sent to a sender whose mail answers one of
our answers. An answer to a known person about their own SUP, digest,
escalation or leave (``own=True``: receipts, refusals, confirmations) always
goes; only the same text sent again in reply to our answer of it — a robot
echoing us — is not answered twice. A held-back answer is an ``Effect``
(``suppressed:…``) with its reason: ``mailsup inbound show`` lists it and
``suppressed_count`` counts them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, time, timedelta
from email import message_from_bytes, policy

from peewee import Case, Expression

from mailsup import sup as sups
from mailsup.clock import utcnow_naive
from mailsup.config import Settings
from mailsup.inbound.ctx import first_run
from mailsup.models import AutoReplyLog, Effect, InboundMessage, Keys, OutboundMessage, Sup
from mailsup.outbound import compose, outbox
from mailsup.prepared import Prepared

log = logging.getLogger(__name__)

BUDGET_PER_INTERVAL = 5
# Answers a day to one address, whatever the interval budget allows: a responder
# answering every 15 minutes no longer loops for 12 hours.
DAILY_CAP = 20
UNREFERENCED_DAILY_CAP = 3
# A fuse for the answers that always go: far above what a person sends in a day.
OWN_DAILY_FUSE = 200
# The kinds of mail that are our answers to someone's mail (outbox key ``{kind}:{inbound}``).
ANSWER_KINDS = ("receipt", "refusal", "help", "command_results", "away", "escalation_answer",
                "alias_answer", "alias_notice")
_MSGID = re.compile(r"<[^<>\s]+>")


def within_budget(settings: Settings, address: str, now: datetime,
                  budget: int = BUDGET_PER_INTERVAL) -> bool:
    """Take one unit of the address's answer budget; False when it is spent."""
    interval = timedelta(minutes=settings.inbound.auto_reply_interval_minutes)
    return _take(address, now, interval, budget)


def within_daily_cap(address: str, now: datetime, cap: int) -> bool:
    """Take one of the address's answers of the (UTC) day; False when the cap is reached."""
    return _take(Keys.daily_budget(address), now, None, cap)


def _budget_upsert(expired: Callable[..., Expression], bounds: int) -> Prepared:
    """One statement: insert the address's count, or start it again when ``expired``
    (of its last answer and ``bounds`` more values), or add one while under the
    budget; a row changed is a unit taken."""
    def build(key, stamp, budget, *limits):
        last, count = AutoReplyLog.last_sent_at, AutoReplyLog.count
        over = expired(last, *limits)
        return (AutoReplyLog.insert(address=key, last_sent_at=stamp, count=1)
                .on_conflict(conflict_target=[AutoReplyLog.address],
                             update={last: Case(None, [(over, stamp)], last),
                                     count: Case(None, [(over, 1)], count + 1)},
                             where=over | (count < budget)))
    return Prepared(build, arity=3 + bounds)


# An interval is over once the last answer is that long ago; a day, on another UTC day.
_TAKE_INTERVAL = _budget_upsert(lambda last, since: last <= since, bounds=1)
_TAKE_DAY = _budget_upsert(lambda last, start, end: (last < start) | (last >= end), bounds=2)


def _take(key: str, now: datetime, interval: timedelta | None, budget: int) -> bool:
    """Take one unit of ``key``'s budget per ``interval`` (``None``: its UTC day)."""
    stamp = utcnow_naive(now)
    if interval is None:
        day = datetime.combine(stamp.date(), time())
        cursor = _TAKE_DAY.execute(key, stamp, budget, day, day + timedelta(days=1))
    else:
        cursor = _TAKE_INTERVAL.execute(key, stamp, budget, stamp - interval)
    return cursor.rowcount == 1


def answer(settings: Settings, row: InboundMessage, *, kind: str, message: compose.Message,
           to: str, now: datetime, sup: Sup | None = None,
           reply_to: str | None = None, auto_submitted: str = "auto-replied",
           unauthenticated: bool = False, own: bool = False) -> OutboundMessage | None:
    """Queue the answer to ``row``, unless loop protection holds it back (then None).

    ``own``: to a known person, authenticated, about their own SUP, digest,
    escalation or leave; ``unauthenticated``: the mail proved nothing, so its
    From may be forged.
    """
    key = Keys.answer(kind, row.id)
    existing = None if first_run(row) else OutboundMessage.get_or_none(OutboundMessage.key == key)
    if existing is not None:
        return existing
    # The SUP's request mail is no answer of ours: a reply threading only to it
    # needs no look for one (``answered_answer``).
    request = sups.request_message(sup) if sup is not None else None
    why = held_back(settings, row, to, now, own=own and not unauthenticated,
                    unauthenticated=unauthenticated,
                    not_answers={request.message_id} if request is not None else set())
    if why:
        log.warning("not answering %s (%s): %s", to, kind, why)
        record_suppressed(kind, row, to, now, sup, why)
        return None
    rendered = compose.render(message)
    # The thread: our original mail, then the reply this answers.
    original = request
    references = [m for m in (original.message_id if original else None, row.message_id)
                  if m] or None
    return outbox.enqueue(settings, key=key, kind=kind, to=[to], rendered=rendered, now=now,
                          sup=sup, reply_to=reply_to, in_reply_to=row.message_id,
                          references=references, auto_submitted=auto_submitted,
                          look_first=False)  # looked above (or the row is new)


def held_back(settings: Settings, row: InboundMessage, to: str, now: datetime, *,
              own: bool, unauthenticated: bool, not_answers: set[str] = frozenset()) -> str | None:
    """Why an answer to ``row`` must not go (None: it goes). Takes budget when it goes.

    ``not_answers``: Message-IDs of mails of ours known not to be answers."""
    answered = answered_answer(row, to, not_answers)
    if own:
        if answered is not None and _same_text(row, answered):
            return (f"the mail repeats, in reply to our {answered.kind}, the text that "
                    f"{answered.kind} answered (a loop)")
        if not within_daily_cap(f"own:{to}", now, OWN_DAILY_FUSE):
            return f"more than {OWN_DAILY_FUSE} answers to {to} today (fuse)"
        return None
    if answered is not None:
        return f"the mail answers our {answered.kind} (outbound {answered.id}); " \
               "answering answers is how loops form"
    # Mail without a valid reference can claim any From: it gets its own, tiny
    # budget, so spoofed mail never uses up the answers a real reply deserves.
    budget_key, budget, cap = (Keys.unreferenced_budget(to), 1, UNREFERENCED_DAILY_CAP) \
        if unauthenticated else (to, BUDGET_PER_INTERVAL, DAILY_CAP)
    if not within_budget(settings, budget_key, now, budget):
        return "answer budget spent for this interval"
    if not within_daily_cap(budget_key, now, cap):
        return f"daily cap of {cap} answers reached"
    return None


def answered_answer(row: InboundMessage, to: str,
                    not_answers: set[str] = frozenset()) -> OutboundMessage | None:
    """The answer of ours, sent to ``to``, that this mail replies to (if any)."""
    msg = _parsed(row)
    if msg is None:
        return None
    ids = _MSGID.findall(" ".join(str(msg.get(h, "")) for h in ("In-Reply-To", "References")))
    if not set(ids) - not_answers:  # none, or only mails of ours that are no answers
        return None
    for sent in (OutboundMessage.select()
                 .where(OutboundMessage.message_id.in_(ids[-20:])
                        & OutboundMessage.kind.in_(ANSWER_KINDS))
                 .order_by(OutboundMessage.id.desc())):
        if to in (sent.recipients or []):
            return sent
    return None


def _same_text(row: InboundMessage, answered: OutboundMessage) -> bool:
    """Does ``row`` say what the mail ``answered`` answered said? (a robot echoing us)"""
    from mailsup.inbound.reading import body, trim

    earlier_id = Keys.answer_inbound(answered.key)
    earlier = InboundMessage.get_or_none(InboundMessage.id == earlier_id) \
        if earlier_id is not None else None
    if earlier is None or earlier.id == row.id or earlier.received_at > answered.created_at:
        return False  # gone, or its id given to a later row (SQLite reuses deleted ids)
    texts = []
    for one in (row, earlier):
        msg = _parsed(one)
        if msg is None:
            return False
        texts.append(" ".join(trim.trim(body.reply_text(msg), keep_interleaved=False)
                              .casefold().split()))
    return texts[0] == texts[1]


def _parsed(row: InboundMessage):
    """The message as the pipeline parsed it for this row, else parsed now."""
    parsed = row.__dict__.get("parsed_message")
    if parsed is not None:
        return parsed
    try:
        return message_from_bytes(bytes(row.raw), policy=policy.default)
    except Exception:  # noqa: BLE001 - an unreadable message answers nothing of ours
        return None


def record_suppressed(kind: str, row: InboundMessage, to: str, now: datetime,
                       sup: Sup | None, why: str) -> None:
    """Kept for the operator: an answer held back is a decision, not silence."""
    Effect.insert(key=Keys.suppressed(kind, row.id), kind="suppressed", sup=sup,
                  created_at=utcnow_naive(now), data={"to": to, "answer": kind,
                                                      "inbound": row.id, "why": why}) \
        .on_conflict_ignore().execute()


def suppressed_for(inbound_id: int) -> list[dict]:
    """The answers held back for one inbound message: ``{"answer", "to", "why"}``."""
    rows = Effect.select().where((Effect.kind == "suppressed")
                                 & Effect.key.endswith(f":{inbound_id}"))
    return [{"answer": e.data.get("answer"), "to": e.data.get("to"),
             "why": e.data.get("why") or "answer budget spent"} for e in rows
            if e.data.get("inbound") == inbound_id]


def suppressed_count(since: datetime | None = None) -> int:
    """How many answers loop protection held back (since ``since``, naive UTC or aware)."""
    query = Effect.select().where(Effect.kind == "suppressed")
    if since is not None:
        query = query.where(Effect.created_at >= utcnow_naive(since))
    return query.count()
