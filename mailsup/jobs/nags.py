"""Remind developers of open SUPs: at most one mail per person per local day.

A SUP is due for a reminder at its ``nag_at``, and never before its own SUP
mail was sent, plus an hour: a SUP mail stuck in the outbox (relay down) gets
no reminder ahead of it, nor glued to it. When the first of a person's SUPs
of a day is due, one mail lists every SUP of theirs that day that is open and
whose mail went out, each with its own reply address. ``reminder:{person}:{day}``
makes it the only one that day; ``nag:{sup}`` records each SUP it listed (the
Slack follow-up looks for it). A SUP that was not ready then gets no second
mail that day: one reminder a day is the promise.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from functools import partial

from peewee import chunked, fn

from mailsup import sup as sups
from mailsup.clock import end_of_local_day, utcnow_naive
from mailsup.config import Settings
from mailsup.database import insert_new, insert_rows
from mailsup.jobs.batches import in_batches
from mailsup.models import Client, Effect, Keys, OutboundMessage, Person, Sup, db
from mailsup.outbound import compose, messages, outbox
from mailsup.outbound.links import Links

# A nag instant is always within a day of the end of its SUP's local day: older
# open SUPs are stale, and the queries need never read them again.
STALE = timedelta(days=2)


def day_over(sup: Sup, now: datetime) -> bool:
    """The SUP's local day has ended for its developer."""
    return utcnow_naive(now) >= end_of_local_day(sup.day, sup.developer.timezone)


def ready(stamp: datetime, nag_by: datetime | None = None):
    """Open SUPs not yet in a reminder whose SUP mail was sent an hour ago or more (and
    whose ``nag_at`` is ``nag_by`` or earlier), as a condition on Sup.

    Correlated lookups in indexes (the SUP's ``nag`` record, its mail), so the cost
    follows the open SUPs, not every mail and nag ever; in this order, cheapest
    first: the mail's status comes after its raw bytes in the row.
    """
    listed = Effect.select(Effect.id).where((Effect.sup == Sup.id) & (Effect.kind == "nag"))
    sent = OutboundMessage.select(OutboundMessage.id).where(
        (OutboundMessage.sup == Sup.id) & (OutboundMessage.kind == "sup_request")
        & (OutboundMessage.status == "sent")
        & (OutboundMessage.sent_at <= stamp - sups.NAG_GRACE))
    condition = ((Sup.status == "open") & (Sup.away == False)  # noqa: E712
                 & (Sup.nag_at > stamp - STALE))
    if nag_by is not None:
        condition &= Sup.nag_at <= nag_by
    return condition & ~fn.EXISTS(listed) & fn.EXISTS(sent)


def due_reminders(now: datetime) -> dict[tuple[int, object], list[Sup]]:
    """(person id, day) → the SUPs their one reminder lists, for people with one due.

    A reminder is due when one of the person's ready SUPs of that day has reached
    its ``nag_at``; it lists every ready SUP of theirs that day. Who is due is
    asked first, in ids: between the SUP mails and nag_time every open SUP is
    ready and none is due, and a tick should not read them all to find that out.
    """
    stamp = utcnow_naive(now)
    due = set(Sup.select(Sup.developer, Sup.day).where(ready(stamp, nag_by=stamp))
              .distinct().tuples())
    sent = {key for chunk in chunked([Keys.reminder(p, d) for p, d in due], 1000)
            for (key,) in Effect.select(Effect.key).where(Effect.key.in_(chunk)).tuples()}
    due = {(p, d) for p, d in due if Keys.reminder(p, d) not in sent}
    by_day: dict[tuple[int, object], list[Sup]] = defaultdict(list)
    for chunk in chunked(sorted({p for p, _ in due}), 1000):
        for sup in (Sup.select(Sup, Person, Client).join(Person, on=(Sup.developer == Person.id))
                    .switch(Sup).join(Client)
                    .where(ready(stamp) & Sup.developer.in_(chunk))):
            # A SUP from an earlier day is stale: reminding of it helps nobody.
            if (sup.developer_id, sup.day) in due and not day_over(sup, now):
                by_day[(sup.developer_id, sup.day)].append(sup)
    return {k: sorted(by_day[k], key=lambda s: (s.client.name, s.id)) for k in sorted(by_day)}


BATCH = 200  # reminders (and their mails) per transaction in the catch-up tick
Reminder = tuple[Person, object, list[Sup]]  # who, their local day, the SUPs it lists


def queue_reminders(settings: Settings, batch: list[Reminder], now: datetime) -> list[Sup]:
    """Queue a batch of reminders in one transaction; the SUPs listed in those it made.

    Each is one mail; with a single SUP it threads to that SUP's mail and answers
    it. ``reminder:{person}:{day}`` is recorded first: a reminder another worker
    recorded meanwhile is skipped by the database, and gets no mail from this call.
    """
    links, stamp = Links.of(settings), utcnow_naive(now)
    singles = [listed[0] for _, _, listed in batch if len(listed) == 1]
    requests = sups.request_message_ids(singles)
    mails, records = {}, []
    for person, day, listed in batch:
        key = Keys.reminder(person.id, day)
        addresses = [sups.reply_to(settings, s) for s in listed]
        single = listed[0] if len(listed) == 1 else None
        request = requests.get(single.id) if single else None
        mails[key] = outbox.Outgoing(
            key=key, kind="nag", to=[person.email],
            rendered=compose.render(messages.nag(person, listed, addresses, links)),
            sup=single, reply_to=addresses[0] if single else None,
            in_reply_to=request, references=[request] if request else None)
        records.append({"key": key, "kind": "reminder", "sup": None, "created_at": stamp,
                        "done_at": stamp, "data": {"sups": [s.id for s in listed]}})
    with db.atomic():
        mine = {key for (key,) in insert_new(Effect, records, (Effect.key,))}
        listed_by_mine = [(person, day, listed) for person, day, listed in batch
                          if Keys.reminder(person.id, day) in mine]
        insert_rows(Effect, [{"key": Keys.nag(s.id), "kind": "nag", "sup": s.id,
                              "created_at": stamp, "done_at": stamp, "data": {}}
                             for _, _, listed in listed_by_mine for s in listed],
                    ignore_conflicts=True)
        outbox.enqueue_many(settings, [mails[k] for k in mails if k in mine], now,
                            check_queued=False)
    return [s for _, _, listed in listed_by_mine for s in listed]


def send_nags(settings: Settings, now: datetime) -> list[Sup]:
    due = [(listed[0].developer, day, listed)
           for (_person, day), listed in due_reminders(now).items()]
    return in_batches(due, BATCH, partial(queue_reminders, settings, now=now),
                      lambda one: one[0].email, "reminders")
