"""Overdue reviews become GitHub issues in the client's HR repo, and close on review.

Record before, act, record after: the Effect row exists before GitHub is
called, the issue body carries a marker that ``hr_tickets`` looks up before
creating, so a crash between "created" and "recorded" adopts the issue
instead of opening a second one.

Where no issue can be opened — no GitHub token, no ``hr_repo``, or GitHub
failing for a whole day since the first try — the overdue SUPs go by mail
instead: one mail per client and HR-local day (after the HR digest time) to
its HR worker and ``[mailsup] management``, listing each SUP once
(``overdue_mail:{sup}``), so an overdue review never escalates to nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from peewee import IntegrityError

from mailsup.clock import Calendar, aware, local_instant, utcnow_naive, zone
from mailsup.config import Settings
from mailsup.directory import schedule_for
from mailsup.github import api as github_api
from mailsup.github.issues import HrTicketError, close_issue, ensure_overdue_issue
from mailsup.jobs import hr_digests
from mailsup.models import Client, Effect, Keys, Sup, db
from mailsup.outbound import compose, messages, outbox
from mailsup.outbound.links import Links

log = logging.getLogger(__name__)

# How long GitHub may fail to take an overdue issue before the mail goes instead.
GITHUB_GRACE = timedelta(days=1)


def review_due_at(settings: Settings, sup: Sup) -> datetime:
    """submitted_at plus review_sla_days business days of the HR worker."""
    hr = sup.client.hr
    tz = hr.timezone
    local = aware(sup.submitted_at).astimezone(zone(tz))
    sla = schedule_for(settings, sup.client).review_sla_days
    day = Calendar.of(hr).add_business_days(local.date(), sla)
    return local_instant(day, local.time().replace(microsecond=0), tz)


def _effect(sup: Sup, now: datetime) -> Effect:
    key = Keys.overdue(sup.id)
    try:
        with db.atomic():
            return Effect.create(key=key, kind="overdue", sup=sup, created_at=utcnow_naive(now))
    except IntegrityError:
        return Effect.get(Effect.key == key)


def _issue_text(settings: Settings, sup: Sup) -> tuple[str, str]:
    title = f"Overdue SUP review: {sup.reference} {sup.developer.name} {sup.day}"
    body = (f"{sup.reference} of {sup.developer.name} ({sup.developer.email}) for "
            f"{sup.client.name}, {sup.day}, was submitted {sup.submitted_at:%Y-%m-%d %H:%M} UTC "
            "and has not been reviewed within the SLA.\n\n"
            f"Review it by replying `reviewed {sup.id}` to the HR digest, or look at it with "
            f"`mailsup sup show {sup.id}`. This issue closes itself once the SUP is reviewed.")
    return title, body


def open_overdue_issues(settings: Settings, gh, now: datetime) -> list[Sup]:
    opened = []
    for sup in Sup.select().where(Sup.status == "submitted"):
        client = sup.client
        if not client.hr_id or not client.hr_repo or aware(now) < review_due_at(settings, sup):
            continue
        effect = _effect(sup, now)
        if effect.data.get("number"):
            continue
        title, body = _issue_text(settings, sup)
        try:
            number = ensure_overdue_issue(gh, client.hr_repo, sup.id, client.hr.github,
                                          title, body)
        except (HrTicketError, Exception) as exc:  # noqa: BLE001 - retried next tick
            log.warning("overdue issue for %s not opened: %s", sup.reference, exc)
            continue
        effect.data, effect.done_at = {"repo": client.hr_repo, "number": number}, \
            utcnow_naive(now)
        effect.save()
        opened.append(sup)
    return opened


def close_reviewed_issues(settings: Settings, gh, now: datetime) -> list[Sup]:
    closed = []
    done = Effect.select(Effect.sup).where(Effect.kind == "overdue_closed")
    # Only issues still to close: a growing history of closed ones is never re-read.
    for effect in (Effect.select(Effect, Sup).join(Sup)
                   .where((Effect.kind == "overdue") & Effect.done_at.is_null(False)
                          & (Sup.status == "reviewed") & ~Effect.sup.in_(done))):
        data, sup = effect.data or {}, effect.sup
        try:
            # Who reviewed is HR-only; the HR repo may be readable by developers.
            close_issue(gh, data["repo"], data["number"],
                        f"{sup.reference} has been reviewed; closing.")
        except Exception as exc:  # noqa: BLE001 - retried next tick
            log.warning("overdue issue %s#%s not closed: %s", data["repo"], data["number"], exc)
            continue
        Effect.insert(key=Keys.overdue_closed(sup.id), kind="overdue_closed", sup=sup,
                      created_at=utcnow_naive(now), done_at=utcnow_naive(now),
                      data={"repo": data["repo"], "number": data["number"]}) \
            .on_conflict_ignore().execute()
        closed.append(sup)
    return closed


def _needs_mail(sup: Sup, gh, effects: dict[int, Effect], now: datetime) -> bool:
    if gh is None or not sup.client.hr_repo:
        return True
    effect = effects.get(sup.id)  # the issue's record: tried since when, opened or not
    return effect is not None and not (effect.data or {}).get("number") \
        and utcnow_naive(now) - effect.created_at >= GITHUB_GRACE


def mail_candidates(settings: Settings, gh, now: datetime) -> dict[int, list[Sup]]:
    """Client id → its overdue SUPs that no issue tells anyone about and no mail listed yet."""
    listed = Effect.select(Effect.sup).where((Effect.kind == "overdue_mail")
                                             & Effect.sup.is_null(False))
    query = (Sup.select(Sup, Client).join(Client)
             .where((Sup.status == "submitted") & Client.hr.is_null(False) & ~Sup.id.in_(listed))
             .order_by(Sup.day, Sup.id))
    candidates = [s for s in query if aware(now) >= review_due_at(settings, s)]
    effects = {e.sup_id: e for e in Effect.select().where(
        (Effect.kind == "overdue") & Effect.sup.in_([s.id for s in candidates]))}
    per_client: dict[int, list[Sup]] = {}
    for sup in candidates:
        if _needs_mail(sup, gh, effects, now):
            per_client.setdefault(sup.client_id, []).append(sup)
    return per_client


def mail_day(settings: Settings, client: Client, now: datetime):
    """The HR worker's business day once its HR digest time has passed, else None: the
    mail goes with the digest, so HR hears of overdue reviews once a day at most."""
    return hr_digests.due_day(client.hr, schedule_for(settings, client).hr_digest_time, now)


def mail_overdue(settings: Settings, gh, now: datetime) -> list[Sup]:
    """One mail per client and day listing its overdue SUPs no issue tells anyone about."""
    mailed = []
    for sups in mail_candidates(settings, gh, now).values():
        client = sups[0].client
        day = mail_day(settings, client, now)
        if day is not None and queue_overdue_mail(settings, client, day, sups, now):
            mailed.extend(sups)
    return mailed


def queue_overdue_mail(settings: Settings, client: Client, day, sups: list[Sup],
                       now: datetime) -> bool:
    key = Keys.overdue_mail_message(client.slug, day)
    if Effect.get_or_none(Effect.key == key) is not None:
        return False  # today's went out: later ones wait for tomorrow's
    to = sorted({client.hr.email, *settings.management})
    stamp = utcnow_naive(now)
    rendered = compose.render(messages.overdue_reviews(client, sups, Links.of(settings)))
    try:
        with db.atomic():
            # The day's key first: a second worker fails here, before listing anything.
            Effect.create(key=key, kind="overdue_mails", created_at=stamp, done_at=stamp,
                          data={"to": to, "sups": [s.id for s in sups]})
            for sup in sups:
                Effect.create(key=Keys.overdue_mail(sup.id), kind="overdue_mail", sup=sup,
                              created_at=stamp, done_at=stamp, data={"to": to})
            outbox.enqueue(settings, key=key,
                           kind="overdue_reviews", to=to, rendered=rendered, now=now)
    except IntegrityError:
        return False  # another worker listed them first
    return True


def overdue_reviews(settings: Settings, now: datetime) -> list[Sup]:
    gh = github_api.client_for(settings)
    done = []
    if gh is not None:
        done = open_overdue_issues(settings, gh, now) + close_reviewed_issues(settings, gh, now)
    return done + mail_overdue(settings, gh, now)
