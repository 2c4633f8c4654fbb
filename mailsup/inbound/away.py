"""Away by mail: leave people set themselves, by command or by out-of-office reply.

``away until …``, ``away A - B`` and ``back`` (to the bare address or in any
reply), and the return date of an out-of-office reply, become ``Leave`` rows
with ``source = "mail"``: a directory reload leaves them alone, ``directory
show`` marks them, and ``create_sups`` skips those days as for any leave.
Today's open SUPs are skipped at once; ``back`` reopens today's and sends its
mail. Bad input (a past date, more than ``MAX_AWAY_DAYS`` ahead, no readable
date) changes nothing and is answered with why and what to write instead.

The latest word wins: a new span replaces the mail-set leave it overlaps
(what is already past stays on record). Leave from the directory is the
operator's: mail never changes it. Mail to the bare address has no
unguessable reference, so its confirmation goes to the person's *registered*
address: a forged ``away`` is seen at once and undone with ``back``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from mailsup import sup as sups
from mailsup.clock import Calendar, local_date, local_instant, utcnow_naive
from mailsup.directory import schedule_for
from mailsup.inbound import autoreply
from mailsup.inbound.ctx import Ctx
from mailsup.inbound.reading import away as reading
from mailsup.inbound.reading import body, trim
from mailsup.inbound.reading.away import Command, Span
from mailsup.inbound.reading.fields import is_pleasantry
from mailsup.models import Leave, Person, Sup, db
from mailsup.outbound import context, messages
from mailsup.outbound.links import Links

# The furthest a person may set leave by mail, in days from today: a typo such
# as 2030 must not silence someone's SUPs for years. Longer leave is the
# operator's (the directory file's `leave`).
MAX_AWAY_DAYS = 90
MAIL = "mail"


@dataclass
class Outcome:
    kind: str  # "away" | "back" | "refused"
    written: str
    span: Span | None = None
    problem: str | None = None
    skipped: list[str] = field(default_factory=list)  # today's SUPs now skipped
    reopened: list[str] = field(default_factory=list)  # today's SUPs open again
    kept: list[Span] = field(default_factory=list)  # directory leave still ahead


def problem_with(span: Span, today: date) -> str | None:
    """Why ``span`` cannot be set by mail today, or None."""
    if span.end < today:
        word = "yesterday, " if span.end == today - timedelta(days=1) else ""
        return f"{word}{context.day_long(span.end)}, is in the past"
    if span.end < span.start:
        return (f"it ends ({context.day_long(span.end)}) before it starts "
                f"({context.day_long(span.start)})")
    if span.end > today + timedelta(days=MAX_AWAY_DAYS):
        return (f"{context.day_long(span.end)} is more than {MAX_AWAY_DAYS} days ahead, the "
                "longest leave mailsup takes by mail; ask the operator to put it into the "
                "directory")
    return None


def set_leave(person: Person, span: Span, today: date) -> list[Sup]:
    """Store the span (replacing overlapping mail-set leave); skip today's open SUPs."""
    start = max(span.start, today)
    for leave in Leave.select().where((Leave.person == person) & (Leave.source == MAIL)
                                      & (Leave.start <= span.end) & (Leave.end >= start)):
        if leave.start < today:  # its past stays on record
            leave.end = today - timedelta(days=1)
            leave.save()
        else:
            leave.delete_instance()
    if Leave.get_or_none(person=person, start=start, end=span.end) is None:
        Leave.create(person=person, start=start, end=span.end, source=MAIL)
    if not start <= today <= span.end:
        return []
    skipped = list(Sup.select().where((Sup.developer == person) & (Sup.day == today)
                                      & (Sup.status == "open")))
    for sup in skipped:
        sup.status, sup.skip_reason = "skipped", "leave"
        sup.save()
    return skipped


def _reopen_today(settings, person: Person, today: date, now: datetime) -> list[Sup]:
    """Today's SUPs skipped for leave that no longer applies: open again, mail sent."""
    if not Calendar.of(Person.get_by_id(person.id)).is_business_day(today):
        return []
    reopened = []
    for sup in Sup.select().where((Sup.developer == person) & (Sup.day == today)
                                  & (Sup.status == "skipped") & (Sup.skip_reason == "leave")):
        schedule = schedule_for(settings, sup.client)
        nag = utcnow_naive(local_instant(today, schedule.nag_time, person.timezone))
        sup.status, sup.skip_reason, sup.away = "open", None, False
        sup.nag_at = max(nag, utcnow_naive(now) + sups.NAG_GRACE)
        sup.save()
        if sups.request_message(sup) is None:  # skipped before it went out: send it now
            sups.queue_request(settings, sup, now)
        reopened.append(sup)
    return reopened


def end_leave(settings, person: Person, today: date, now: datetime) -> Outcome:
    mine = list(Leave.select().where((Leave.person == person) & (Leave.source == MAIL)
                                     & (Leave.end >= today)))
    kept = [Span(lv.start, lv.end) for lv in Leave.select().where(
        (Leave.person == person) & (Leave.source != MAIL) & (Leave.end >= today))]
    if not mine:
        tail = "; the directory's leave stays as it is (only the operator changes it)" \
            if kept else ""
        return Outcome("refused", "back", problem="you have no leave set by mail from today "
                       f"on{tail}", kept=kept)
    with db.atomic():
        for leave in mine:
            if leave.start < today:
                leave.end = today - timedelta(days=1)
                leave.save()
            else:
                leave.delete_instance()
        reopened = _reopen_today(settings, person, today, now)
    return Outcome("back", "back", reopened=[s.reference for s in reopened], kept=kept)


def apply(settings, person: Person, command: Command, now: datetime) -> Outcome:
    """Carry out one command as of ``now`` (the person's local date is "today")."""
    today = local_date(now, person.timezone)
    if command.kind == "back":
        return end_leave(settings, person, today, now)
    if command.span is None:
        return Outcome("refused", command.line, problem="there is no date in it that mailsup "
                       "can read")
    problem = problem_with(command.span, today)
    if problem:
        return Outcome("refused", command.line, command.span, problem)
    span = Span(max(command.span.start, today), command.span.end)
    with db.atomic():
        skipped = set_leave(person, span, today)
    return Outcome("away", command.line, span, skipped=[s.reference for s in skipped])


def _answer(ctx: Ctx, person: Person, outcome: Outcome) -> None:
    span = outcome.span
    message = messages.away_answer(
        person, outcome.kind, outcome.written, start=span.start if span else None,
        end=span.end if span else None, problem=outcome.problem, skipped=outcome.skipped,
        reopened=outcome.reopened, kept=[(s.start, s.end) for s in outcome.kept],
        limit_days=MAX_AWAY_DAYS, links=Links.of(ctx.settings))
    # To the registered address about the person's own leave: a forged From cannot
    # aim it elsewhere, so it is never throttled (only an echo of it is not answered).
    autoreply.answer(ctx.settings, ctx.row, kind="away", message=message, to=person.email,
                     now=ctx.now, auto_submitted="auto-replied", own=True)


def _reason(outcome: Outcome) -> str:
    if outcome.kind == "away":
        return f"leave {outcome.span.start}..{outcome.span.end} set by mail"
    if outcome.kind == "back":
        return "leave set by mail ended" + (f"; reopened {', '.join(outcome.reopened)}"
                                            if outcome.reopened else "")
    return f"{outcome.written!r} not applied: {outcome.problem}"


def _written_lines(text: str) -> list[str]:
    top = trim.strip_signature(trim.trim(text, keep_interleaved=False))
    return [line.strip() for line in top.splitlines() if line.strip()
            and not is_pleasantry(line.strip())]


def take_command(ctx: Ctx, person: Person, text: str, *, whole: bool = False) -> str | None:
    """Apply an ``away …``/``back`` line of a reply and answer it.

    Returns None when the reply was only that, or ``whole`` says the mail is
    about nothing else (the bare address): the message is then settled. Else
    the text without the command line, for the reply's own handler. A line
    that starts with "away" but has no readable date is answered as a command
    only when it is plainly one ("away until blursday") and all the reply
    says, or the first line of mail to the bare address: "away from keyboard
    till noon" in a reply is a plan.
    """
    lines = _written_lines(text)
    today = local_date(ctx.now, person.timezone)
    for i, line in enumerate(lines):
        command = reading.command(line, today)
        if command is None or command.kind == "unreadable" and not (
                whole and i == 0 or len(lines) == 1 and reading.meant_as_command(command)):
            continue
        outcome = apply(ctx.settings, person, command, ctx.now)
        _answer(ctx, person, outcome)
        if len(lines) == 1 or whole:
            ctx.settle("refused" if outcome.kind == "refused" else "applied", "away",
                       _reason(outcome))
            return None
        ctx.reasons.append(_reason(outcome))
        return text.replace(line, "", 1)
    return text


def from_out_of_office(ctx: Ctx, person: Person) -> None:
    """An out-of-office reply's return date sets leave (never answered: it is a robot)."""
    today = local_date(ctx.now, person.timezone)
    span = reading.out_of_office_span(body.reply_text(ctx.msg), today)
    if span is None:
        ctx.reasons.append("it names no return date")
        return
    problem = problem_with(span, today)
    if problem:
        ctx.reasons.append(f"its return date is not used: {problem}")
        return
    with db.atomic():
        skipped = set_leave(person, span, today)
    ctx.reasons.append(f"leave {span.start}..{span.end} set from its return date"
                       + (f"; {', '.join(s.reference for s in skipped)} skipped"
                          if skipped else ""))
