"""The SUP lifecycle: window, create and queue its email, submit + snapshot, escalate.

A SUP's window starts at the developer's previous *submitted* SUP for the
client, so every GitHub event lands in exactly one snapshot (design §4).
The queries that find SUPs for people (lists, previous/next) live here too,
so the CLI and the pages ask the same questions the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from peewee import JOIN, IntegrityError, chunked, fn

from mailsup import prepared, tokens
from mailsup.clock import Calendar, local_instant, utcnow_naive
from mailsup.clock import stamp as clock_stamp
from mailsup.config import Schedule, Settings
from mailsup.database import insert_new, is_sqlite
from mailsup.github import api as github_api
from mailsup.github import footprints
from mailsup.models import (
    Client,
    DeliveryManager,
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
from mailsup.outbound import compose, context, messages, outbox
from mailsup.outbound.links import Links

log = logging.getLogger(__name__)

NAG_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class Due:
    """A SUP that should exist now: who, for which client, which local day."""

    developer: Person
    client: Client
    day: date
    schedule: Schedule
    calendar: Calendar
    skip_reason: str | None = None
    # The developer's latest submitted SUP for the client, loaded once per tick
    # for all developers (see ``latest_submitted``), never per SUP.
    previous: Sup | None = None


def latest_submitted(client: Client) -> dict[int, Sup]:
    """Each developer's latest submitted SUP for ``client``, in one query."""
    latest = (Sup.select(Sup.developer.alias("dev"), fn.MAX(Sup.submitted_at).alias("at"))
              .where((Sup.client == client) & Sup.submitted_at.is_null(False))
              .group_by(Sup.developer))
    rows = (Sup.select().join(latest, on=((Sup.developer == latest.c.dev)
                                          & (Sup.submitted_at == latest.c.at)))
            .where(Sup.client == client))
    return {row.developer_id: row for row in rows}


def last_submitted(developer: Person, client: Client) -> Sup | None:
    return (Sup.select().where((Sup.developer == developer) & (Sup.client == client)
                               & Sup.submitted_at.is_null(False))
            .order_by(Sup.submitted_at.desc()).first())


def window_start(due: Due) -> datetime:
    """Previous submission, or one business day back for a first SUP."""
    previous = due.previous
    if previous is not None:
        return previous.window_end or previous.submitted_at
    back = due.calendar.previous_business_day(due.day)
    return utcnow_naive(local_instant(back, due.schedule.sup_time, due.developer.timezone))


def carried_unavailable(due: Due) -> str | None:
    """'unavailable' said on the previous business day skips this one."""
    previous = due.previous
    if previous and previous.day < due.day and previous.scheduling == "unavailable" and \
            due.calendar.next_business_day(previous.day) == due.day:
        return f"unavailable (said in {previous.reference})"
    return None


def nag_instant(due: Due, now: datetime) -> datetime:
    """nag_time, but never sooner than an hour after the mail actually went out.

    A SUP created late (the service was down at 06:00) should not arrive
    together with its own reminder.
    """
    nag = utcnow_naive(local_instant(due.day, due.schedule.nag_time, due.developer.timezone))
    return max(nag, utcnow_naive(now) + NAG_GRACE)


def create(due: Due, now: datetime, footprint: dict | None, note: str | None) -> Sup | None:
    """Create the SUP row; None if it already exists (a second tick)."""
    tz = due.developer.timezone
    previous = due.previous
    skip = due.skip_reason or carried_unavailable(due)
    try:
        with db.atomic():
            return Sup.create(
                developer=due.developer, client=due.client, day=due.day,
                status="skipped" if skip else "open", skip_reason=skip,
                created_at=utcnow_naive(now),
                due_at=utcnow_naive(local_instant(due.day, due.schedule.sup_time, tz)),
                nag_at=nag_instant(due, now),
                window_start=window_start(due), footprint=footprint, footprint_note=note,
                previous_plan=previous.plan if previous else None,
            )
    except IntegrityError:
        return None


def reply_to(settings: Settings, sup: Sup) -> str:
    return tokens.address_for(settings, "s", sup.id, sup.day)


def render_request(sup: Sup, links: Links | None = None,
                   reply_address: str | None = None,
                   welcome: str | None = None) -> compose.Rendered:
    return compose.render(messages.sup_request(sup, links, reply_address, welcome))


def first_request(sup: Sup) -> bool:
    """No SUP mail has gone to this person before this SUP's (for any client)."""
    earlier = (OutboundMessage.select(OutboundMessage.id).join(Sup)
               .where((OutboundMessage.kind == "sup_request")
                      & (Sup.developer == sup.developer_id)))
    if sup.id is not None:
        earlier = earlier.where(Sup.id != sup.id)
    return not earlier.exists()


def welcome(settings: Settings, sup: Sup) -> str | None:
    """Who set mailsup up ([mailsup] operator, may be ""), for a first SUP mail; else None."""
    return settings.operator if first_request(sup) else None


def first_requests(sups_: list[Sup]) -> set[int]:
    """``first_request`` for a batch of unqueued SUPs, in one query per 1,000 people:
    the ids whose mail is its person's first SUP mail (one per person, the first)."""
    people = list({s.developer_id for s in sups_})
    # Per person, their SUPs (an index) until one has its mail (the unique key):
    # driven from the outbox's kind instead, each batch of the burst read every
    # SUP mail ever sent.
    request = OutboundMessage.select(OutboundMessage.id).where(
        OutboundMessage.key == Keys.in_sql(Keys.sup_request, Sup.id))
    mailed = Sup.select(Sup.id).where((Sup.developer == Person.id) & fn.EXISTS(request))
    earlier = {developer for chunk in chunked(people, 1000)
               for (developer,) in (Person.select(Person.id)
                                    .where(Person.id.in_(chunk) & fn.EXISTS(mailed)).tuples())}
    firsts: set[int] = set()
    for s in sups_:
        if s.developer_id not in earlier:
            firsts.add(s.id)
            earlier.add(s.developer_id)  # a second client's SUP the same morning: no intro
    return firsts


def queue_request(settings: Settings, sup: Sup, now: datetime):
    return outbox.enqueue(
        settings, key=Keys.sup_request(sup.id), kind="sup_request", to=[sup.developer.email],
        rendered=render_request(sup, Links.of(settings), reply_to(settings, sup),
                                welcome(settings, sup)), now=now,
        sup=sup,
        reply_to=reply_to(settings, sup),
    )


def with_people(sups_: list[Sup]) -> list[Sup]:
    """Load every SUP's developer and client with one query per table, not one per SUP.

    A SUP row knows only the ids; reading ``sup.developer`` would load each
    person lazily, one query (and one query compilation) per mail.
    """
    for field, model in ((Sup.developer, Person), (Sup.client, Client)):
        ids = list({getattr(s, field.name + "_id") for s in sups_})
        loaded = {row.id: row for chunk in chunked(ids, 1000)
                  for row in model.select().where(model.id.in_(chunk))}
        for s in sups_:
            setattr(s, field.name, loaded[getattr(s, field.name + "_id")])
    return sups_


def queue_requests(settings: Settings, sups_: list[Sup], now: datetime, *,
                   fresh: bool = False) -> int:
    """``queue_request`` for a batch: people loaded once, one INSERT for the mails.

    ``fresh``: SUPs this transaction created, people already attached; nobody
    else can have queued their mails, so there is nothing to look up first.
    """
    if fresh:
        todo = sups_
    else:
        queued = outbox.queued_keys(Keys.sup_request(s.id) for s in sups_)
        todo = with_people([s for s in sups_ if Keys.sup_request(s.id) not in queued])
    links = Links.of(settings)
    firsts = first_requests(todo)
    return outbox.enqueue_many(settings, [
        outbox.Outgoing(key=Keys.sup_request(s.id), kind="sup_request", to=[s.developer.email],
                        rendered=render_request(s, links, address,
                                                settings.operator if s.id in firsts else None),
                        sup=s, reply_to=address)
        for s in todo for address in [reply_to(settings, s)]], now, check_queued=False)


def _for_reply_query(sup_id):
    request, other, later = OutboundMessage.alias(), Sup.alias(), Sup.alias()
    others_end = (other.select(fn.MAX(other.window_end))
                  .where((other.developer == Sup.developer) & (other.client == Sup.client)
                         & (other.id != Sup.id) & other.submitted_at.is_null(False)))
    # The developer's newest later SUP for the client (the receipt's "still open" one).
    latest = (later.select(later.id)
              .where((later.developer == Sup.developer) & (later.client == Sup.client)
                     & (later.day > Sup.day)).order_by(later.day.desc()).limit(1))
    return (Sup.select(Sup, request, Person, others_end.alias("others_window_end"),
                       latest.alias("later_sup_id"))
            .join(request, JOIN.LEFT_OUTER,
                  on=((request.sup == Sup.id) & (request.kind == "sup_request")),
                  attr="request_row")
            .switch(Sup).join(Person, on=(Sup.developer == Person.id), attr="developer")
            .where(Sup.id == sup_id).limit(1))


# Built once per database: its SQL cost more to build than SQLite takes to run it.
_FOR_REPLY = prepared.Prepared(_for_reply_query)


def for_reply(sup_id: int) -> Sup | None:
    """The SUP a reply names, in one query with what applying a reply reads next:
    its developer, its request mail (the text the reply quotes, the thread's first
    Message-ID), the latest window end among the developer's other submitted SUPs
    and the id of their newest later SUP (``_later_sup_id``)."""
    sup = _FOR_REPLY.first(int(sup_id))
    if sup is None:
        return None
    sup.__dict__["_later_sup_id"] = sup.__dict__.pop("later_sup_id", None)
    row = getattr(sup, "request_row", None)
    if row is not None and row.id is not None and row.key == Keys.sup_request(sup.id):
        sup.__dict__["_request_message"] = row
    sup.__dict__["_others_window_end"] = _as_datetime(sup.__dict__.pop("others_window_end",
                                                                       None))
    return sup


def _as_datetime(value) -> datetime | None:
    """MAX() of a DateTimeField comes back as SQLite stores it: text."""
    return Sup.window_end.python_value(value) if value is not None else None


def request_message(sup: Sup) -> OutboundMessage | None:
    """The SUP's request mail; asked for twice per reply (its text, its Message-ID),
    read once per ``sup`` object."""
    found = sup.__dict__.get("_request_message")
    if found is None:  # None is not kept: the mail may be queued later (leave ends)
        found = OutboundMessage.get_or_none(OutboundMessage.key == Keys.sup_request(sup.id))
        sup.__dict__["_request_message"] = found
    return found


def request_message_ids(sups_: list[Sup]) -> dict[int, str]:
    """SUP id → the Message-ID of its request mail, for those queued (one query per chunk)."""
    by_key = {Keys.sup_request(s.id): s.id for s in sups_}
    found = {}
    for chunk in chunked(list(by_key), 500):
        for key, message_id in (OutboundMessage.select(OutboundMessage.key,
                                                       OutboundMessage.message_id)
                                .where(OutboundMessage.key.in_(chunk)).tuples()):
            found[by_key[key]] = message_id
    return found


def create_and_queue(settings: Settings, due: Due, now: datetime, footprint: dict | None,
                     note: str | None) -> Sup | None:
    """SUP row and its mail in one transaction: a crash leaves both or neither."""
    with db.atomic():
        sup = create(due, now, footprint, note)
        if sup is not None and sup.status == "open":
            queue_request(settings, sup, now)
    if sup is not None:
        log.info("created %s for %s (%s, %s) %s", sup.reference, due.developer.email,
                 due.client.slug, due.day, sup.status)
    return sup


def create_and_queue_many(settings: Settings, dues: list[Due], now: datetime,
                          footprints_: dict[str, dict], note: str | None,
                          share: bool = False) -> list[Sup] | None:
    """``create_and_queue`` for a batch, in one transaction: the SUPs this call created.

    The rows ``create`` writes, one INSERT per chunk, then their mails through
    ``queue_requests``. A SUP that exists already (another worker, a second
    tick) is skipped by the database and gets no mail from this call
    (``database.insert_new`` says which are ours).

    ``share`` (PostgreSQL): None, doing nothing, when another worker holds this
    batch (a transaction-scoped advisory lock), so two workers ticking at the
    same instant split the burst instead of queueing behind each other's rows.
    """
    stamp = utcnow_naive(now)
    rows = []
    for due in dues:
        tz, previous = due.developer.timezone, due.previous
        skip = due.skip_reason or carried_unavailable(due)
        rows.append({
            "developer": due.developer.id, "client": due.client.id, "day": due.day,
            "status": "skipped" if skip else "open", "skip_reason": skip, "created_at": stamp,
            "due_at": utcnow_naive(local_instant(due.day, due.schedule.sup_time, tz)),
            "nag_at": nag_instant(due, now), "window_start": window_start(due),
            "footprint": footprints_.get(due.developer.email),
            "footprint_note": note, "previous_plan": previous.plan if previous else None})
    people = {due.developer.id: due.developer for due in dues}
    by_pair = {(r["developer"], r["day"]): r for r in rows}
    with db.atomic():
        if share and not is_sqlite() and not _batch_lock(dues):
            return None
        mine = insert_new(Sup, rows, (Sup.id, Sup.developer, Sup.day))
        created = [Sup(id=sid, **by_pair[(dev, day)]) for sid, dev, day in mine]
        for sup in created:
            sup.developer, sup.client = people[sup.developer_id], dues[0].client
        queue_requests(settings, [s for s in created if s.status == "open"], now, fresh=True)
    for sup in created:
        log.info("created %s for %s (%s, %s) %s", sup.reference, sup.developer.email,
                 sup.client.slug, sup.day, sup.status)
    return created


def _batch_lock(dues: list[Due]) -> bool:
    """Take this batch's advisory lock until the transaction ends, if nobody has it."""
    first = dues[0]
    name = f"mailsup:create_sups:{first.client.id}:{first.day}:{first.developer.id}"
    cursor = db.obj.execute_sql(
        "SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || %s))", (name,))
    return bool(cursor.fetchone()[0])


def snapshot(settings: Settings, sup: Sup,
             until: datetime) -> tuple[dict | None, datetime, str | None]:
    """Footprint of [window_start, until) as stored at submission.

    If GitHub cannot be asked now, the email-time footprint stands and the
    window closes at the email's instant, so the next SUP picks up the rest:
    nothing is lost, nothing counted twice.
    """
    per_person, note = footprints.gather(settings, sup.client,
                                         {sup.developer: (sup.window_start, until)})
    fresh = per_person.get(sup.developer.email)
    if fresh is not None:
        return fresh, until, note
    if github_api.configured(settings) and sup.developer.github:
        return sup.footprint, sup.created_at, note
    return sup.footprint, until, sup.footprint_note


def _start_after_other_snapshots(sup: Sup) -> datetime:
    """Two SUPs open at once (one answered late) must not snapshot the same events."""
    if "_others_window_end" in sup.__dict__:  # read with the SUP (for_reply)
        latest = sup.__dict__["_others_window_end"]
    else:
        latest = (Sup.select(fn.MAX(Sup.window_end))
                  .where((Sup.developer == sup.developer) & (Sup.client == sup.client)
                         & (Sup.id != sup.id) & Sup.submitted_at.is_null(False)).scalar())
    if latest is not None and latest > sup.window_start:
        return latest
    return sup.window_start


# The fields of an answer, as a reply gives them and a SUP keeps them.
ANSWER_FIELDS = ("plan", "scheduling", "scheduling_note", "blockers", "planned_tickets",
                 "repo_comments", "comment")
_EMPTY = {"planned_tickets": list, "repo_comments": dict}


def _blank_answer() -> dict:
    return {key: _EMPTY[key]() if key in _EMPTY else None for key in ANSWER_FIELDS}


def recorded_answer(sup: Sup) -> dict:
    """The answer as it stands: the SUP's fields (and amendments after review), or for
    a SUP not yet submitted the draft a refused reply left."""
    answer = _blank_answer()
    if sup.status in ("submitted", "reviewed"):
        answer |= {key: getattr(sup, key) for key in ANSWER_FIELDS}
        for amendment in sup.amendments or []:
            answer |= {k: v for k, v in amendment.get("fields", {}).items() if k in answer}
    else:
        answer |= {k: v for k, v in ((sup.draft or {}).get("fields") or {}).items()
                   if k in answer}
    for key, empty in _EMPTY.items():
        answer[key] = answer[key] or empty()
    return answer


def merge_answer(base: dict, fields: dict, given: list[str] | None) -> dict:
    """A later reply merges field by field: what it gives replaces, the rest stays.

    Tickets merge per ticket and repository comments per repository, so marking
    one ticket later does not unmark the others. ``given`` None: every field.
    """
    merged = _blank_answer() | {k: v for k, v in base.items() if k in ANSWER_FIELDS}
    for key in ANSWER_FIELDS if given is None else given:
        value = fields.get(key)
        if key == "planned_tickets" and given is not None:
            tickets = {(t["repo"], int(t["number"])): t for t in merged["planned_tickets"]}
            for ticket in value or []:
                tickets.pop((ticket["repo"], int(ticket["number"])), None)
                tickets[(ticket["repo"], int(ticket["number"]))] = ticket
            merged[key] = list(tickets.values())
        elif key == "repo_comments" and given is not None:
            merged[key] = {**merged[key], **(value or {})}
        elif key == "scheduling":
            merged["scheduling"], merged["scheduling_note"] = value, fields.get("scheduling_note")
        else:
            merged[key] = value if value is not None or key not in _EMPTY else _EMPTY[key]()
    return merged


def answer_after(sup: Sup, fields: dict, given: list[str]) -> tuple[dict, list[str]]:
    """The answer once a reply is merged in, and the fields the reply gave.

    A plan the reply has but does not give (its only text was a scheduling line,
    "Off sick today") fills a SUP that has no plan yet and changes no recorded one.
    """
    base = recorded_answer(sup)
    given = list(given)
    if fields.get("plan") and "plan" not in given and not base["plan"]:
        given.append("plan")
    return merge_answer(base, fields, given), given


def keep_draft(sup: Sup, answer: dict, inbound_id: int) -> None:
    """What a refused reply said, so that a reply with just the missing line completes it."""
    sup.draft = {"fields": answer, "inbound": inbound_id}
    sup.save()


def submit(settings: Settings, sup: Sup, fields: dict, now: datetime, inbound_id: int,
           given: list[str] | None = None) -> str:
    """Apply an answer: first submission, replacement before review, or amendment.

    ``given``: the fields the reply gave, merged into what was recorded (or the
    draft of a refused reply); None replaces the whole answer with ``fields``.
    """
    # A reply never predates the mail it answers, whatever clock its door ran on
    # (a `tick --now` day answered through a door on the real clock).
    stamp = max(utcnow_naive(now), sup.created_at)
    answer = merge_answer(recorded_answer(sup), fields, given)
    if sup.status == "reviewed":
        sup.amendments = (sup.amendments or []) + [
            {"at": clock_stamp(stamp), "inbound": inbound_id, "fields": answer,
             "given": list(ANSWER_FIELDS if given is None else given)}]
        sup.save()
        return "amended"
    outcome = "replaced" if sup.status == "submitted" else "submitted"
    for key in ANSWER_FIELDS:
        setattr(sup, key, answer[key])
    sup.draft = None
    if outcome == "submitted":
        sup.late = sup.status == "missed"
        sup.window_start = _start_after_other_snapshots(sup)
        footprint, window_end, note = snapshot(settings, sup, stamp)
        sup.footprint, sup.window_end, sup.submitted_at = footprint, window_end, stamp
        if note:
            sup.footprint_note = note
        sup.status = "submitted"
    prepared.save(sup)  # sup.save(), its 30-column UPDATE built once (one per reply)
    return outcome


def blockers_to_escalate(sup: Sup, answer: dict) -> str | None:
    """Blockers of ``answer`` not yet escalated for this SUP (a draft's never were).

    Compared as ``context.blocker_norm``, against every escalation that named this
    SUP, so a replacement that brings back an earlier text sends nothing again.
    """
    blockers = answer.get("blockers")
    if not blockers:
        return None
    return None if context.blocker_thread(sup, blockers) is not None else blockers


def escalation_recipients(sup: Sup) -> list[str]:
    emails = {dm.person.email for dm in DeliveryManager.select().where(
        DeliveryManager.client == sup.client)}
    teams = (Team.select().join(Membership).switch(Team).join(Org)
             .where((Membership.person == sup.developer) & (Org.client == sup.client)))
    emails |= {t.delivery_manager.email for t in teams if t.delivery_manager_id}
    return sorted(emails)


def recipient_names(emails: list[str]) -> list[str]:
    """The managers' names, in the order of ``emails`` (an unknown address as itself)."""
    names = {p.email: p.name for p in Person.select().where(Person.email.in_(emails))}
    return [names.get(e, e) for e in emails]


def _open_thread(sup: Sup, blockers: str) -> Effect | None:
    """The same text reported on another day and not resolved: one blocker, one thread."""
    norm = context.blocker_norm(blockers)
    for effect in context.escalations_of(sup.developer_id, sup.client_id):
        if not (effect.data or {}).get("resolved") and context.escalation_norm(effect) == norm:
            return effect
    return None


def escalate_blockers(settings: Settings, sup: Sup, blockers: str | None, now: datetime,
                      inbound_id: int) -> dict | None:
    """Escalate a reply's blockers once, and say where they stand (for the receipt).

    The same text is never escalated twice: not for a replacement of the reply,
    not on the following days while it is not resolved (the thread then counts
    "day N"). After the delivery manager marked it resolved, the same text on a
    later day is a new blocker and is escalated again.
    """
    if not blockers:
        return None
    carried = context.blocker_thread(sup, blockers)
    if carried is not None:
        return context.blocker_state(sup, carried)
    thread = _open_thread(sup, blockers)
    if thread is not None:
        data = dict(thread.data or {})
        data["sups"] = sorted(context.escalation_sups(thread) | {sup.id})
        first = date.fromisoformat(data["day"]) if data.get("day") else thread.sup.day
        data["day"] = str(min(first, sup.day))
        thread.data = data
        thread.save()
        return context.blocker_state(sup, thread)
    row = escalate(settings, sup, blockers, now, inbound_id)
    effect = Effect.get_or_none(Effect.key == Keys.escalation(sup.id, inbound_id))
    return context.blocker_state(sup, effect, new=row is not None)


def escalate(settings: Settings, sup: Sup, blockers: str, now: datetime, inbound_id: int):
    """One escalation mail per new blocker text, to the delivery managers; its Reply-To
    is the signed escalation address, so their answer comes back to this thread."""
    recipients = escalation_recipients(sup)
    if not recipients:
        log.warning("%s has blockers but %s has no delivery manager", sup.reference,
                    sup.client.slug)
        return None
    key = Keys.escalation(sup.id, inbound_id)
    if Effect.get_or_none(Effect.key == key) or context.blocker_thread(sup, blockers):
        return None
    names = recipient_names(recipients)
    with db.atomic():
        effect = Effect.create(
            key=key, kind="escalation", sup=sup, created_at=utcnow_naive(now),
            done_at=utcnow_naive(now),
            data={"to": recipients, "names": names, "blockers": blockers,
                  "norm": context.blocker_norm(blockers), "sups": [sup.id],
                  "day": str(sup.day), "acks": [], "resolved": None})
        rendered = compose.render(messages.escalation(sup, blockers, names, Links.of(settings)))
        return outbox.enqueue(settings, key=key, kind="escalation", to=recipients,
                              rendered=rendered, now=now, sup=sup,
                              reply_to=tokens.address_for(settings, "e", effect.id))


# --- finding SUPs (the CLI's and the pages' questions) ----------------------

def neighbours(sup: Sup) -> tuple[int | None, int | None]:
    """Previous and next SUP of the same developer for the same client."""
    same = (Sup.developer == sup.developer) & (Sup.client == sup.client)
    prev = Sup.select(Sup.id).where(same & (Sup.day < sup.day)).order_by(Sup.day.desc()).first()
    nxt = Sup.select(Sup.id).where(same & (Sup.day > sup.day)).order_by(Sup.day).first()
    return (prev.id if prev else None, nxt.id if nxt else None)


def select_sups(client: str | None = None, developer: str | None = None,
                status: str | None = None, since: date | None = None,
                until: date | None = None):
    """SUPs by client slug, developer email, status and day range, oldest first."""
    query = Sup.select(Sup, Person, Client).join(Person, on=(Sup.developer == Person.id)) \
        .switch(Sup).join(Client)
    if client:
        query = query.where(Client.slug == client)
    if developer:
        query = query.where(Person.email == developer.lower())
    if status:
        query = query.where(Sup.status == status)
    if since:
        query = query.where(Sup.day >= since)
    if until:
        query = query.where(Sup.day <= until)
    return query.order_by(Sup.day, Client.slug, Person.email)
