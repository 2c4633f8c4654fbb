"""``mailsup preview``: render any mail mailsup would send, without sending or storing it.

Every kind is built by the same ``outbound.messages`` function the sending
code calls, from the same rows, so a preview is by construction what is sent.
The answers to replies (receipt, refusal, help, …) depend on what a person
wrote: without ``--reply`` they show example answers; with ``--reply FILE``
the message is run through the real pipeline inside a transaction that is
rolled back, and the answer it would get is shown.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

from mailsup import sup as sups
from mailsup import tokens
from mailsup.cli.common import client_hint, open_settings, parse_now, person_hint
from mailsup.clock import Calendar, local_date, local_instant, utcnow_naive
from mailsup.config import Settings
from mailsup.directory import developers_of, schedule_for
from mailsup.errors import UserError
from mailsup.github import api as github_api
from mailsup.github import footprints
from mailsup.inbound import runner
from mailsup.inbound.away import MAX_AWAY_DAYS
from mailsup.inbound.store import store_raw
from mailsup.jobs import hr_digests, overdue_reviews, team_digests, weekly_summaries
from mailsup.models import (
    Client,
    Effect,
    Keys,
    Membership,
    Org,
    OutboundMessage,
    Person,
    Sup,
    Team,
    db,
)
from mailsup.outbound import compose, context, messages
from mailsup.outbound.links import Links
from mailsup.tokens import SIGN_IN_MINUTES

ANSWERS = ("receipt", "refusal", "help", "reply_to_sup_email", "command_results", "away",
           "escalation_answer", "alias_notice", "alias_answer", "sup_closed")
KINDS = ("sup_request", "nag", *ANSWERS, "escalation", "blocker_reply", "hr_digest",
         "team_digest", "weekly_summary", "overdue_reviews", "sign_in")
# The address a reply came from that is nobody's (the notice asks whether it was them).
EXAMPLE_UNREGISTERED = "(example) phone@mail.example"
# A delivery manager's answer to an escalation, where none was received yet.
EXAMPLE_MANAGER_REPLY = "(example) I have asked ops to restore staging; should be back by noon."
# The token of a real sign-in link is random and never stored; the preview shows its shape.
EXAMPLE_SIGN_IN_TOKEN = "EXAMPLE-one-time-token-not-valid"


class PreviewError(UserError):
    pass


# Mails addressed to HR, management or delivery managers: --developer may name that
# recipient; the example SUP is then one of the client's developers'.
RECIPIENT_KINDS = {"hr_digest": "hr", "overdue_reviews": "hr", "weekly_summary": "dm",
                   "team_digest": "dm"}


def _lookup(settings: Settings, developer: str, client_slug: str,
            kind: str = "sup_request") -> tuple[Person, Client]:
    person = Person.get_or_none(Person.email == developer.strip().lower())
    if person is None:
        raise PreviewError(f"unknown developer {developer!r}{person_hint(developer)}; see "
                           "`mailsup directory show`")
    client = Client.get_or_none(Client.slug == client_slug)
    if client is None:
        raise PreviewError(f"unknown client {client_slug!r}{client_hint(client_slug)}; see "
                           "`mailsup directory show`")
    team_of_client = developers_of(client)
    if person not in team_of_client:
        if _receives(settings, person, client, RECIPIENT_KINDS.get(kind)) and team_of_client:
            return sorted(team_of_client, key=lambda p: p.email)[0], client
        hint = ""
        if kind in RECIPIENT_KINDS:
            hint = (" nor its HR worker or management" if RECIPIENT_KINDS[kind] == "hr"
                    else " nor one of its delivery managers")
        raise PreviewError(f"{person.email} is in no team of {client.slug}{hint}")
    return person, client


def _receives(settings: Settings, person: Person, client: Client, role: str | None) -> bool:
    """Whether ``person`` is a recipient of the ``role``'s mails for ``client``."""
    if role == "hr":
        return client.hr_id == person.id or person.email in settings.management
    if role == "dm":
        managers = {dm.person_id for dm in client.delivery_managers}
        managers |= {t.delivery_manager_id for t in Team.select().join(Org)
                     .where(Org.client == client)}
        return person.id in managers
    return False


def draft_sup(settings: Settings, person: Person, client: Client, now: datetime) -> Sup:
    """Today's SUP if it exists, else the one a tick would create now (unsaved)."""
    day = local_date(now, person.timezone)
    existing = Sup.get_or_none((Sup.developer == person) & (Sup.client == client)
                               & (Sup.day == day))
    if existing is not None:
        return existing
    schedule = schedule_for(settings, client)
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
            "planned_tickets": sup.planned_tickets or [], "repo_comments": sup.repo_comments or {},
            "scheduling_note": sup.scheduling_note, "comment": sup.comment}


def _team(sup: Sup) -> Team:
    team = (Team.select().join(Membership).switch(Team).join(Org)
            .where((Membership.person == sup.developer) & (Org.client == sup.client)).first())
    if team is None:
        raise PreviewError(f"{sup.developer.email} is in no team of {sup.client.slug}")
    return team


def _hr_digest(settings: Settings, sup: Sup, now: datetime) -> compose.Message:
    client = sup.client
    if client.hr_id is None:
        raise PreviewError(f"client {client.slug} has no HR worker; set hr in the directory")
    pending = hr_digests.pending_reviews(client) or [sup]
    return messages.hr_digest(client, pending, hr_digests.previous_digest_ids(client),
                              local_date(now, client.hr.timezone), Links.of(settings),
                              missed=hr_digests.missed_since(client, now))


def _nag(settings: Settings, sup: Sup, now: datetime) -> compose.Message:
    """The day's reminder as sent (its recorded SUPs), else of the SUPs open now."""
    person = sup.developer
    record = Effect.get_or_none(Effect.key == Keys.reminder(person.id, sup.day))
    if record is not None:
        listed = [Sup.get_by_id(i) for i in record.data.get("sups", [])]
    else:
        listed = list(Sup.select().where((Sup.developer == person) & (Sup.day == sup.day)
                                         & (Sup.status == "open")).order_by(Sup.id)) or [sup]
        listed.sort(key=lambda s: (s.client.name, s.id or 0))
    addresses = [tokens.address_for(settings, "s", s.id or 0, s.day) for s in listed]
    return messages.nag(person, listed, addresses, Links.of(settings))


def _team_digest(settings: Settings, sup: Sup, now: datetime) -> compose.Message:
    sections = team_digests.sections_for(settings, sup.developer, now)
    if not sections:  # none due now: show what the team's section says anyway
        team = _team(sup)
        clock = team_digests.team_timezone_person(team)
        day = local_date(now, clock.timezone) if clock else sup.day
        sections = [context.team_section(team, day, now,
                                         schedule_for(settings, sup.client).sup_time)]
    return messages.team_digest(sup.developer, sections, Links.of(settings))


def _weekly_summary(settings: Settings, sup: Sup, now: datetime) -> compose.Message:
    """The summary the developer's delivery manager gets (or got) this week."""
    team = _team(sup)
    if not team.delivery_manager_id:
        raise PreviewError(f"team {team.slug} has no delivery_manager; set one in the directory")
    manager, world = team.delivery_manager, team_digests.load_teams(settings)
    today = local_date(now, manager.timezone)
    start = today - timedelta(days=today.weekday()) - weekly_summaries.WEEK
    # The job's own choice of teams (``led_teams``), read from the loaded world.
    teams = [world.teams[t.id] for t in weekly_summaries.led_teams().get(manager.id, [team])]
    return messages.weekly_summary(manager, start,
                                   weekly_summaries.sections_of(world, teams, start))


def _overdue_reviews(settings: Settings, sup: Sup, now: datetime) -> compose.Message:
    client = sup.client
    if client.hr_id is None:
        raise PreviewError(f"client {client.slug} has no HR worker; set hr in the directory")
    due = overdue_reviews.mail_candidates(settings, github_api.client_for(settings), now)
    return messages.overdue_reviews(client, due.get(client.id) or [sup],
                                    Links.of(settings))


def _away(settings: Settings, sup: Sup, now: datetime) -> compose.Message:
    today = local_date(now, sup.developer.timezone)
    end = today + timedelta(days=6)
    return messages.away_answer(sup.developer, "away", f"away until {end}", start=today,
                                end=end, limit_days=MAX_AWAY_DAYS, links=Links.of(settings))


def _escalation(sup: Sup, links: Links) -> compose.Message:
    """The escalation as it was sent (its recorded text and managers), else an example."""
    thread = context.blocker_thread(sup) if sup.blockers else None
    data = thread.data if thread is not None else {}
    names = data.get("names") or sups.recipient_names(sups.escalation_recipients(sup))
    return messages.escalation(sup, data.get("blockers") or sup.blockers
                               or "(example) waiting for staging access", names, links)


def _blocker_reply(sup: Sup) -> compose.Message:
    """The last relayed answer of the SUP's blocker, else an example one."""
    thread = context.blocker_thread(sup) if sup.blockers else None
    acks = (thread.data.get("acks") or []) if thread is not None else []
    if acks:
        last = acks[-1]
        return messages.blocker_reply(sup, last["name"], last["text"],
                                      bool(thread.data.get("resolved")),
                                      thread.data.get("blockers") or sup.blockers)
    names = sups.recipient_names(sups.escalation_recipients(sup)) or ["(example) Dana"]
    return messages.blocker_reply(sup, names[0], EXAMPLE_MANAGER_REPLY, False,
                                  sup.blockers or "(example) waiting for staging access")


BUILDERS = {"hr_digest": _hr_digest, "team_digest": _team_digest,
            "weekly_summary": _weekly_summary, "overdue_reviews": _overdue_reviews,
            "away": _away}


def example(settings: Settings, kind: str, sup: Sup, now: datetime) -> compose.Message:
    """The mail of ``kind`` about ``sup`` (answers to replies with example input)."""
    fields, links = _fields(sup), Links.of(settings)
    if kind == "sup_request":
        return messages.sup_request(sup, links,
                                    sups.reply_to(settings, sup) if sup.id else None,
                                    sups.welcome(settings, sup))
    if kind == "nag":
        return _nag(settings, sup, now)
    if kind == "receipt":
        escalated = bool(sup.blockers) and bool(sups.escalation_recipients(sup))
        outcome = "amended" if sup.status == "reviewed" else "submitted"
        blocker = context.blocker_state(sup, context.blocker_thread(sup)) \
            if sup.blockers and sup.id is not None else None
        return messages.receipt(sup, fields, outcome, escalated, links=links, blocker=blocker)
    if kind == "refusal":
        return messages.refusal(sup, fields | {"plan": None},
                                ["(example) the plan is missing"], [], links=links,
                                reply_address=sups.reply_to(settings, sup) if sup.id else None)
    if kind == "help":
        return messages.help_answer(sup, links=links)
    if kind == "reply_to_sup_email":
        return messages.reply_to_sup_email(sup.developer, sup.id, "my plan", links)
    if kind == "escalation":
        return _escalation(sup, links)
    if kind == "blocker_reply":
        return _blocker_reply(sup)
    if kind == "alias_notice":
        return messages.alias_notice(sup, EXAMPLE_UNREGISTERED, None, links)
    if kind == "alias_answer":
        return messages.alias_answer(context.first_name(sup.developer.name), sup, "added",
                                     EXAMPLE_UNREGISTERED, None, applied=[sup.reference],
                                     links=links)
    if kind == "escalation_answer":
        thread = context.blocker_thread(sup) if sup.blockers else None
        person = Person.get_or_none(Person.email == (
            (thread.data.get("to") or [""])[0] if thread else ""))
        first = context.first_name(person.name) if person else ""
        return messages.escalation_answer(first, sup, "relayed", None,
                                          developer=sup.developer.name, links=links)
    if kind == "sup_closed":
        return messages.sup_closed(sup, settings.token_days, None, links)
    if kind == "sign_in":
        return messages.sign_in(sup.developer, links.sign_in(EXAMPLE_SIGN_IN_TOKEN),
                                SIGN_IN_MINUTES)
    if kind in BUILDERS:
        return BUILDERS[kind](settings, sup, now)
    return messages.command_results(sup.client, [f"{sup.reference}: reviewed"], [],
                                    ["(example) make coffee"], False,
                                    f"{sup.client.name}: SUPs to review", links)


def answer_to(settings: Settings, raw: bytes, now: datetime) -> tuple[str, compose.Rendered]:
    """(kind, mail) that the real pipeline would answer ``raw`` with; nothing is kept."""
    with db.atomic() as transaction:
        stored = store_raw(raw, "cli", now)
        row = runner.claim_row(stored.row.id, now) if stored.created else None
        if row is None:
            transaction.rollback()
            raise PreviewError(f"that message was already received (inbound {stored.row.id}); "
                               "`mailsup inbound show` has its outcome")
        ctx = runner.process(settings, row, now)
        answers = list(OutboundMessage.select().where(
            OutboundMessage.key.in_([Keys.answer(kind, row.id) for kind in ANSWERS])))
        transaction.rollback()
    if not answers:
        raise PreviewError(f"that message gets no answer: {ctx.status} ({ctx.kind}) "
                           + "; ".join(ctx.reasons))
    mail = message_from_bytes(bytes(answers[0].raw), policy=policy.default)
    html = mail.get_body(("html",))
    # Mail that names nothing we can trust is refused with its own template.
    kind = "reply_to_sup_email" if ctx.kind == "unreferenced" else answers[0].kind
    if ctx.kind == "expired":  # stored as a refusal, with its own template
        kind = "sup_closed"
    return kind, compose.Rendered(answers[0].subject, answers[0].text_body,
                                  html.get_content() if html else "")


def preview(settings: Settings, kind: str, developer: str, client_slug: str,
            now: datetime, reply: bytes | None = None) -> compose.Rendered:
    if kind not in KINDS:
        raise PreviewError(f"unknown kind {kind!r}; choose one of {', '.join(sorted(KINDS))}")
    if reply is not None:
        if kind not in ANSWERS:
            raise PreviewError(f"--reply goes with an answer kind ({', '.join(ANSWERS)})")
        got, rendered = answer_to(settings, reply, now)
        if got != kind:
            raise PreviewError(f"that reply would be answered with a {got}, not a {kind}")
        return rendered
    person, client = _lookup(settings, developer, client_slug, kind)
    return compose.render(example(settings, kind, draft_sup(settings, person, client, now), now))


def cmd_preview(args) -> int:
    settings = open_settings(args)
    reply = None
    if args.reply:
        try:
            reply = Path(args.reply).read_bytes()
        except OSError as exc:
            raise UserError(f"--reply {args.reply}: {exc.strerror}") from None
    rendered = preview(settings, args.kind, args.developer, args.client, parse_now(args.now),
                       reply)
    if args.html:
        print(rendered.html)
    else:
        print(f"Subject: {rendered.subject}\n")
        print(rendered.text)
    return 0


def add_commands(sub) -> None:
    prev = sub.add_parser("preview", help="render an email without sending it")
    prev.add_argument("--developer", required=True,
                      help="developer's email (for HR, digest and summary mails also the "
                           "recipient's: the HR worker, management, a delivery manager)")
    prev.add_argument("--client", required=True, help="client slug")
    prev.add_argument("--kind", default="sup_request",
                      help="sup_request (default), " + ", ".join(KINDS[1:]))
    prev.add_argument("--reply", metavar="FILE",
                      help="with an answer kind: the raw reply to answer (nothing is kept)")
    prev.add_argument("--now", help="ISO 8601 instant (default: the clock)")
    prev.add_argument("--html", action="store_true", help="print the HTML alternative")
    prev.set_defaults(func=cmd_preview)
