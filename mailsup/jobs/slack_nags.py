"""Slack as the second nag channel: a DM after the email nag, a nudge to HR.

Each DM is an Effect row taken before the call. A failed call removes the row
so the next tick tries again; a crash between the call and the record leaves
the row, so a DM is sent at most once (a duplicate DM is worse than none).
"""

from __future__ import annotations

import logging
from datetime import datetime

from peewee import IntegrityError, fn

from mailsup import slack
from mailsup.clock import utcnow_naive
from mailsup.config import Settings
from mailsup.jobs.nags import STALE, day_over
from mailsup.models import Client, Effect, Keys, Person, Sup, db

log = logging.getLogger(__name__)

# DM channel ids per workspace (base URL + token), so a changed token or a
# second Slack never gets another workspace's channel ids.
_channels: dict[tuple[str, str], dict[str, str]] = {}


def _claim(key: str, kind: str, now: datetime, sup: Sup | None = None) -> Effect | None:
    try:
        with db.atomic():
            return Effect.create(key=key, kind=kind, sup=sup, created_at=utcnow_naive(now))
    except IntegrityError:
        return None


def _dm(client, effect: Effect, user: str, text: str, now: datetime) -> bool:
    cache = _channels.setdefault((client.base_url, client.token or ""), {})
    try:
        ts = slack.send_dm(client, user, text, cache)
    except slack.SlackError as exc:
        log.warning("Slack %s failed, retrying next tick: %s", effect.key, exc.reason)
        effect.delete_instance()
        return False
    effect.done_at, effect.data = utcnow_naive(now), {"ts": ts}
    effect.save()
    return True


def nag_open_sups(settings: Settings, client, now: datetime) -> list[Sup]:
    # Looked up per open SUP in the index of Effect.sup: every nag and DM ever is
    # not read each minute.
    nagged_by_mail = Effect.select(Effect.id).where((Effect.sup == Sup.id)
                                                    & (Effect.kind == "nag"))
    dmed = Effect.select(Effect.id).where((Effect.sup == Sup.id) & (Effect.kind == "slack_nag"))
    done, stamp = [], utcnow_naive(now)
    candidates = (Sup.select(Sup, Person).join(Person, on=(Sup.developer == Person.id))
                  .where((Sup.status == "open") & (Sup.away == False)  # noqa: E712
                         & Person.slack.is_null(False) & (Sup.nag_at > stamp - STALE)
                         & fn.EXISTS(nagged_by_mail) & ~fn.EXISTS(dmed)))
    for sup in candidates:
        if day_over(sup, now):
            continue  # a SUP of an earlier day: a DM would only confuse
        effect = _claim(Keys.slack_nag(sup.id), "slack_nag", now, sup)
        text = (f"Your SUP for {sup.client.name} ({sup.day:%a %d %b}, {sup.reference}) is "
                "still open: please reply to the SUP email with your plan.")
        if effect is not None and _dm(client, effect, sup.developer.slack, text, now):
            done.append(sup)
    return done


def nudge_hr(settings: Settings, client, now: datetime) -> list[Client]:
    done = []
    for digest in Effect.select().where((Effect.kind == "hr_digest")
                                        & (Effect.created_at >= utcnow_naive(now).replace(
                                            hour=0, minute=0, second=0))):
        client_row = Client.get_or_none(Client.id == digest.data.get("client"))
        count = len(digest.data.get("sup_ids", []))
        if client_row is None or not client_row.hr_id or not client_row.hr.slack or not count:
            continue  # a digest of misses only asks HR for no review
        effect = _claim(Keys.slack_hr(digest.id), "slack_hr", now)
        text = (f"{count} SUP{'s' if count != 1 else ''} of {client_row.name} wait for your "
                "review: see today's digest email and reply \"reviewed\".")
        if effect is not None and _dm(client, effect, client_row.hr.slack, text, now):
            done.append(client_row)
    return done


def slack_followups(settings: Settings, now: datetime) -> list:
    client = slack.make_client(settings.slack.token, settings.slack.base_url)
    if client is None:
        return []  # no token, no Slack
    return nag_open_sups(settings, client, now) + nudge_hr(settings, client, now)
