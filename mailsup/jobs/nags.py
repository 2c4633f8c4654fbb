"""Remind developers whose SUP is still open at their local nag_time, once per SUP.

A pure function of ``now`` and the database, like every job: a second run
finds the ``nag:{id}`` effect and does nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from peewee import IntegrityError

from mailsup import sup as sups
from mailsup.clock import end_of_local_day, utcnow_naive
from mailsup.config import Settings
from mailsup.models import Effect, Keys, Sup, db
from mailsup.outbound import compose, messages, outbox
from mailsup.web.links import Links

# A nag instant is always within a day of the end of its SUP's local day: older
# open SUPs are stale, and the queries need never read them again.
STALE = timedelta(days=2)


def day_over(sup: Sup, now: datetime) -> bool:
    """The SUP's local day has ended for its developer."""
    return utcnow_naive(now) >= end_of_local_day(sup.day, sup.developer.timezone)


def nag_due(now: datetime) -> list[Sup]:
    stamp = utcnow_naive(now)
    query = (Sup.select().where((Sup.status == "open") & (Sup.away == False)  # noqa: E712
                                & (Sup.nag_at <= stamp) & (Sup.nag_at > stamp - STALE))
             .where(~Sup.id.in_(Effect.select(Effect.sup).where(
                 (Effect.kind == "nag") & Effect.sup.is_null(False)))))
    # A SUP from an earlier day is stale: nagging about it helps nobody.
    return [s for s in query if not day_over(s, now)]


def queue_nag(settings: Settings, sup: Sup, now: datetime) -> None:
    request = sups.request_message(sup)
    rendered = compose.render(messages.nag(sup, Links.of(settings)))
    with db.atomic():
        Effect.create(key=Keys.nag(sup.id), kind="nag", sup=sup, created_at=utcnow_naive(now),
                      done_at=utcnow_naive(now))
        outbox.enqueue(
            settings, key=Keys.nag(sup.id), kind="nag", to=[sup.developer.email],
            rendered=rendered, now=now, sup=sup, reply_to=sups.reply_to(settings, sup),
            in_reply_to=request.message_id if request else None,
            references=[request.message_id] if request else None,
        )


def send_nags(settings: Settings, now: datetime) -> list[Sup]:
    nagged = []
    for sup in nag_due(now):
        try:
            queue_nag(settings, sup, now)
            nagged.append(sup)
        except IntegrityError:
            continue  # another worker nagged first
    return nagged
