"""Overdue reviews become GitHub issues in the client's HR repo, and close on review.

Record before, act, record after: the Effect row exists before GitHub is
called, the issue body carries a marker that ``hr_tickets`` looks up before
creating, so a crash between "created" and "recorded" adopts the issue
instead of opening a second one.
"""

from __future__ import annotations

import logging
from datetime import datetime

from peewee import IntegrityError

from mailsup.clock import Calendar, aware, local_instant, utcnow_naive, zone
from mailsup.config import Settings
from mailsup.directory import schedule_for
from mailsup.github import api as github_api
from mailsup.github.issues import HrTicketError, close_issue, ensure_overdue_issue
from mailsup.models import Effect, Keys, Sup, db

log = logging.getLogger(__name__)


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


def overdue_reviews(settings: Settings, now: datetime) -> list[Sup]:
    gh = github_api.client_for(settings)
    if gh is None:
        return []
    return open_overdue_issues(settings, gh, now) + close_reviewed_issues(settings, gh, now)
