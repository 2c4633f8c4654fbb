"""Render any email mailsup would send, without sending or storing anything."""

from __future__ import annotations

from datetime import datetime

from mailsup import sup as sups
from mailsup.clock import Calendar, local_date, local_instant
from mailsup.config import Settings
from mailsup.directory import developers_of
from mailsup.errors import UserError
from mailsup.github import footprints
from mailsup.jobs.create_sups import client_schedule
from mailsup.models import Client, Person, Sup, utcnow_naive
from mailsup.outbound import compose
from mailsup.outbound import context as views


class PreviewError(UserError):
    pass


def _lookup(developer: str, client_slug: str) -> tuple[Person, Client]:
    person = Person.get_or_none(Person.email == developer.strip().lower())
    if person is None:
        raise PreviewError(f"unknown developer {developer!r}; see `mailsup directory show`")
    client = Client.get_or_none(Client.slug == client_slug)
    if client is None:
        raise PreviewError(f"unknown client {client_slug!r}; see `mailsup directory show`")
    if person not in developers_of(client):
        raise PreviewError(f"{person.email} is in no team of {client.slug}")
    return person, client


def draft_sup(settings: Settings, person: Person, client: Client, now: datetime) -> Sup:
    """Today's SUP if it exists, else the one a tick would create now (unsaved)."""
    day = local_date(now, person.timezone)
    existing = Sup.get_or_none((Sup.developer == person) & (Sup.client == client)
                               & (Sup.day == day))
    if existing is not None:
        return existing
    schedule = client_schedule(settings, client)
    due = sups.Due(person, client, day, schedule, Calendar.of(person),
                   previous=sups.last_submitted(person, client))
    start = sups.window_start(due)
    per_person, note = footprints.gather(settings, client, {person: (start, utcnow_naive(now))})
    previous = due.previous
    return Sup(developer=person, client=client, day=day, status="open",
               created_at=utcnow_naive(now), window_start=start,
               due_at=utcnow_naive(local_instant(day, schedule.sup_time, person.timezone)),
               nag_at=utcnow_naive(local_instant(day, schedule.nag_time, person.timezone)),
               footprint=per_person.get(person.email),
               footprint_note=note, previous_plan=previous.plan if previous else None)


def _fields(sup: Sup) -> dict:
    """The SUP's recorded answers, or an example where it has none yet."""
    return {"plan": sup.plan or "(example) finish the login fix",
            "scheduling": sup.scheduling or "full day", "blockers": sup.blockers,
            "planned_tickets": sup.planned_tickets or [], "repo_comments": sup.repo_comments or {}}


def _answer(role: str, extra: dict):
    def render(sup: Sup) -> compose.Rendered:
        ctx = views.base_context(sup, "automatic answer to your reply") | {"fields": _fields(sup)}
        return compose.render(role, "Re: " + views.sup_subject(sup), ctx | extra)
    return render


def _escalation(sup: Sup) -> compose.Rendered:
    ctx = views.base_context(sup, "blocker escalation") | {
        "developer_name": sup.developer.name, "developer_email": sup.developer.email,
        "blockers_lines": (sup.blockers or "(example) waiting for staging access").splitlines(),
        "plan_lines": _fields(sup)["plan"].splitlines()}
    return compose.render("escalation", f"[{sup.reference}] Blocker: {sup.developer.name}", ctx)


def _hr_digest(sup: Sup) -> compose.Rendered:
    from mailsup.jobs.team_digests import hr_digest_context, pending_reviews

    pending = pending_reviews(sup.client) or [sup]
    return compose.render("hr_digest", f"{sup.client.name}: SUPs to review",
                          hr_digest_context(sup.client, pending, set()))


def _team_digest(sup: Sup) -> compose.Rendered:
    from mailsup.jobs.team_digests import team_digest_context
    from mailsup.models import Membership, Org, Team

    team = (Team.select().join(Membership).switch(Team).join(Org)
            .where((Membership.person == sup.developer) & (Org.client == sup.client)).first())
    ctx = team_digest_context(team, sup.day)
    return compose.render("team_digest", f"{team.name} plans for {sup.day:%a %d %b}", ctx)


def _command_results(sup: Sup) -> compose.Rendered:
    ctx = {"client_name": sup.client.name, "changes": [f"{sup.reference}: reviewed"],
           "errors": [], "unknown": ["(example) make coffee"], "empty": False,
           "title": "Digest commands", "ref": "", "footer": "automatic answer"}
    return compose.render("command_results", f"Re: {sup.client.name}: SUPs to review", ctx)


RENDERERS = {
    "sup_request": lambda sup: sups.render_request(sup),
    "nag": lambda sup: compose.render("nag", views.sup_subject(sup, "Reminder: "),
                                      views.base_context(sup, "reply to this email to answer")),
    "receipt": _answer("receipt", {"outcome": "submitted", "escalated": False}),
    "refusal": _answer("refusal", {"problems": ["(example) the plan is missing"],
                                   "unread": [], "status": "open", "kept_plan": None}),
    "help": _answer("help", {}),
    "escalation": _escalation,
    "hr_digest": _hr_digest,
    "team_digest": _team_digest,
    "command_results": _command_results,
}


def preview(settings: Settings, kind: str, developer: str, client_slug: str,
            now: datetime) -> compose.Rendered:
    if kind not in RENDERERS:
        raise PreviewError(f"unknown kind {kind!r}; choose one of {', '.join(sorted(RENDERERS))}")
    person, client = _lookup(developer, client_slug)
    return RENDERERS[kind](draft_sup(settings, person, client, now))
