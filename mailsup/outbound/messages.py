"""What every mail says: one function per mail role → subject, template and variables.

The code that sends a mail and ``mailsup preview`` both call these functions,
so a preview is by construction what is sent. Each takes the rows and values
its mail is about and returns a ``compose.Message``; none queues, sends or
writes anything, and none reads an HR-only field except through
``hr_context``, whose entries only the HR digest carries.
"""

from __future__ import annotations

from datetime import date, timedelta

from mailsup.models import Client, Person, Sup
from mailsup.outbound import context, hr_context
from mailsup.outbound.compose import Message, one_line

# The footers say why the mail came, in the words of its role.
ANSWER_TO_REPLY = "automatic answer to your reply"


def sup_subject(sup: Sup, prefix: str = "") -> str:
    return f"{prefix}[{sup.reference}] {sup.client.name} stand-up for {sup.day:%a %d %b}"


def reply_subject(original: str | None) -> str:
    """"Re: " + the subject of the mail being answered (once)."""
    original = one_line(original or "")
    return original if original.lower().startswith("re:") else f"Re: {original}".strip()


def sup_request(sup: Sup) -> Message:
    variables = context.base_context(sup, "reply to this email to answer")
    return Message("sup_request", sup_subject(sup),
                   variables | context.sup_request_context(sup))


def nag(person: Person, sups: list[Sup], addresses: list[str]) -> Message:
    """The day's one reminder: every SUP still open, each with its own reply address."""
    first = sups[0]
    if len(sups) == 1:
        subject = sup_subject(first, "Reminder: ")
        footer = "reply to this email to answer"
    else:
        clients = ", ".join(s.client.name for s in sups)
        subject = f"Reminder: {len(sups)} SUPs open ({clients}) for {first.day:%a %d %b}"
        footer = "reply to each SUP email (or write to its address) to answer it"
    return Message("nag", subject, context.base_context(first, footer) | {
        "first_name": context.first_name(person.name),
        "items": context.reminder_items(sups, addresses),
        "ref": first.reference if len(sups) == 1 else ""})


def receipt(sup: Sup, fields: dict, outcome: str, escalated: bool,
            answering: str | None = None) -> Message:
    """``answering``: the subject of the reply this receipt answers."""
    variables = context.base_context(sup, ANSWER_TO_REPLY) | {
        "fields": fields, "outcome": outcome, "escalated": escalated}
    return Message("receipt", reply_subject(answering or sup_subject(sup)), variables)


def refusal(sup: Sup, fields: dict, problems: list[str], unread: list[str],
            answering: str | None = None) -> Message:
    variables = context.base_context(sup, ANSWER_TO_REPLY) | {
        "fields": fields, "problems": problems, "unread": unread, "status": sup.status,
        "kept_plan": sup.plan}
    return Message("refusal", reply_subject(answering or sup_subject(sup)), variables)


def help_answer(sup: Sup, answering: str | None = None) -> Message:
    return Message("help", reply_subject(answering or sup_subject(sup)),
                   context.base_context(sup, "automatic answer"))


def reply_to_sup_email(person: Person, subject_ref: int | None,
                       answering: str | None) -> Message:
    """The answer to mail that names no SUP or digest in a way we can trust."""
    return Message("reply_to_sup_email", reply_subject(answering), {
        "first_name": context.first_name(person.name), "subject_ref": subject_ref,
        "title": "Please reply to the SUP email", "ref": "", "footer": "automatic answer"})


def escalation(sup: Sup, blockers: str) -> Message:
    variables = context.base_context(sup, "blocker escalation") | {
        "developer_name": sup.developer.name, "developer_email": sup.developer.email,
        "blockers_lines": blockers.splitlines(), "plan_lines": (sup.plan or "").splitlines()}
    return Message("escalation", f"[{sup.reference}] Blocker: {sup.developer.name} "
                   f"({sup.client.name})", variables)


def hr_digest(client: Client, sups: list[Sup], previous: set[int], day: date,
              missed: list[Sup] = ()) -> Message:
    """``previous``: the SUP ids of the client's last digest (the others are marked new);
    ``missed``: the SUPs that became missed since then."""
    count = len(sups)
    what = f"{count} SUP{'s' if count != 1 else ''} to review" if count or not missed \
        else f"{len(missed)} missed"
    return Message("hr_digest", f"{client.name}: {what} ({day:%a %d %b})", {
                       "client_name": client.name,
                       "hr_name": context.first_name(client.hr.name),
                       "items": hr_context.hr_digest_items(sups, previous),
                       "missed": [context.missed_item(s) for s in missed],
                       "title": f"{client.name} SUPs to review", "ref": "",
                       "footer": "reply with commands, one per line"})


def team_digest(person: Person, sections: list[dict]) -> Message:
    """A person's one team digest of the day; ``sections``: ``context.team_section``
    per team (never an HR-only field)."""
    if len(sections) == 1:
        one = sections[0]
        subject = f"{one['team_name']} ({one['client_name']}) plans for {one['day']:%a %d %b}"
        title = f"{one['team_name']} today"
    else:
        days = sorted({s["day"] for s in sections})
        subject = (f"Team plans for {', '.join(f'{d:%a %d %b}' for d in days)}: "
                   + ", ".join(f"{s['team_name']} ({s['client_name']})" for s in sections))
        title = "Your teams today"
    return Message("team_digest", subject, {
        "first_name": context.first_name(person.name), "sections": sections,
        "title": title, "ref": "", "footer": "team digest"})


def weekly_summary(person: Person, start: date, sections: list[dict]) -> Message:
    """A delivery manager's week of participation; ``start``: the Monday it begins."""
    names = ", ".join(s["team_name"] for s in sections)
    return Message("weekly_summary", f"Participation {start:%d %b} - "
                   f"{start + timedelta(days=6):%d %b}: {names}", {
                       "first_name": context.first_name(person.name), "sections": sections,
                       "week_long": f"{context.day_long(start)} to "
                                    f"{context.day_long(start + timedelta(days=6))}",
                       "title": "Weekly participation", "ref": "",
                       "footer": "weekly participation summary"})


def overdue_reviews(client: Client, sups: list[Sup]) -> Message:
    """Overdue reviews when no GitHub issue can say so (to HR and management)."""
    count = len(sups)
    return Message("overdue_reviews", f"{client.name}: {count} SUP review"
                   f"{'s' if count != 1 else ''} overdue", {
                       "client_name": client.name,
                       "hr_name": context.first_name(client.hr.name) if client.hr_id else "",
                       "items": [context.overdue_item(s) for s in sups],
                       "title": f"{client.name}: overdue reviews", "ref": "",
                       "footer": "overdue SUP reviews"})


def away_answer(person: Person, outcome: str, written: str, *, start: date | None = None,
                end: date | None = None, problem: str | None = None,
                skipped: list[str] = (), reopened: list[str] = (),
                kept: list[tuple[date, date]] = (), limit_days: int = 90) -> Message:
    """The answer to ``away …``/``back``: ``outcome`` is "away", "back" or "refused"."""
    if outcome == "away":
        subject = f"Away {start:%a %d %b} - {end:%a %d %b}: no SUP mail on those days"
    elif outcome == "back":
        subject = "Welcome back: your SUP mail is on again"
    else:
        subject = f"Not changed: {written}"
    return Message("away", subject, {
        "first_name": context.first_name(person.name), "outcome": outcome, "written": written,
        "start_long": context.day_long(start) if start else "",
        "end_long": context.day_long(end) if end else "",
        "days": (end - start).days + 1 if start and end else 0, "problem": problem,
        "skipped": list(skipped), "reopened": list(reopened),
        "kept": [f"{context.day_long(a)} to {context.day_long(b)}" for a, b in kept],
        "limit_days": limit_days, "title": "Away by mail", "ref": "",
        "footer": "automatic answer to your mail"})


def command_results(client: Client, changes: list[str], errors: list[str],
                    unknown: list[str], empty: bool, answering: str | None) -> Message:
    return Message("command_results", reply_subject(answering), {
        "client_name": client.name, "changes": changes, "errors": errors,
        "unknown": unknown, "empty": empty, "title": "Digest commands", "ref": "",
        "footer": "automatic answer to your digest reply"})
