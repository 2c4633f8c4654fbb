"""What every mail says: one function per mail role → subject, template and variables.

The code that sends a mail and ``mailsup preview`` both call these functions,
so a preview is by construction what is sent. Each takes the rows and values
its mail is about and returns a ``compose.Message``; none queues, sends or
writes anything, and none reads an HR-only field except through
``hr_context``, whose entries only the HR digest carries.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from urllib.parse import quote

from mailsup.models import Client, Person, Sup
from mailsup.outbound import context, hr_context
from mailsup.outbound.compose import Message, one_line
from mailsup.outbound.links import Links

# The footers say why the mail came, in the words of its role.
ANSWER_TO_REPLY = "automatic answer to your reply"


def pages(links: Links | None, wanted: Callable[[Links], list[tuple[str, str]]]) -> list[dict]:
    """The links a mail ends with, to the pages it concerns; none without ``[web] base_url``."""
    if links is None or not links.enabled:
        return []
    return [{"label": label, "url": url} for label, url in wanted(links)]


def _sup_pages(sup: Sup, links: Links | None, *, answer: str | None = None,
               page: str | None = "This SUP") -> list[dict]:
    """A SUP's page and (until review, by the signed link) its answer form."""
    if sup.id is None:  # a preview of a SUP not created yet has no pages
        return []
    return pages(links, lambda go: ([(answer, go.answer(sup.id))] if answer else [])
                 + ([(page, go.sup(sup.id))] if page else []))


def sup_subject(sup: Sup, prefix: str = "") -> str:
    return f"{prefix}[{sup.reference}] {sup.client.name} stand-up for {sup.day:%a %d %b}"


def reply_subject(original: str | None) -> str:
    """"Re: " + the subject of the mail being answered (once)."""
    original = one_line(original or "")
    return original if original.lower().startswith("re:") else f"Re: {original}".strip()


def reply_with_plan(address: str | None, subject: str) -> str | None:
    """The "Reply with my plan" button: a ``mailto:`` to the SUP's signed address,
    subject and a ``plan: `` body prefilled, percent-encoded as RFC 6068 asks (a
    space is %20, never +)."""
    if not address:
        return None
    return (f"mailto:{quote(address, safe='@+')}?subject={quote(reply_subject(subject), safe='')}"
            f"&body={quote('plan: ', safe='')}")


def sup_request(sup: Sup, links: Links | None = None, reply_address: str | None = None,
                welcome: str | None = None) -> Message:
    """``reply_address``: the SUP's signed address (``sup.reply_to``), for the button;
    ``welcome``: not None for a person's first SUP mail, naming who set mailsup up
    (``[mailsup] operator``, "" when not named)."""
    variables = context.base_context(sup, "reply to this email to answer")
    return Message("sup_request", sup_subject(sup),
                   variables | context.sup_request_context(sup)
                   | {"pages": _sup_pages(sup, links, answer="Answer in the browser"),
                      "short_form": context.short_form(sup),
                      "reply_url": reply_with_plan(reply_address, sup_subject(sup)),
                      "welcome": welcome})


def nag(person: Person, sups: list[Sup], addresses: list[str],
        links: Links | None = None) -> Message:
    """The day's one reminder: every SUP still open, each with its own reply address."""
    first = sups[0]
    if len(sups) == 1:
        subject = sup_subject(first, "Reminder: ")
        footer = "reply to this email to answer"
    else:
        clients = ", ".join(s.client.name for s in sups)
        subject = f"Reminder: {len(sups)} SUPs open ({clients}) for {first.day:%a %d %b}"
        footer = "reply to each SUP email (or write to its address) to answer it"
    items = [item | {"reply_url": reply_with_plan(item["address"], sup_subject(sup))}
             for item, sup in zip(context.reminder_items(sups, addresses), sups, strict=True)]
    example = [row for row in context.short_form(first)
               if row["command"].startswith(("plan:", "done:"))]
    return Message("nag", subject, context.base_context(first, footer) | {
        "first_name": context.first_name(person.name), "items": items, "example": example,
        "ref": first.reference if len(sups) == 1 else "", "pages": _nag_pages(sups, links)})


def _nag_pages(sups: list[Sup], links: Links | None) -> list[dict]:
    if len(sups) == 1:
        return _sup_pages(sups[0], links, answer="Answer in the browser")
    return pages(links, lambda go: [(f"Answer {s.reference} ({s.client.name}) in the browser",
                                     go.answer(s.id)) for s in sups if s.id is not None])


# How a receipt names the fields a reply changed or left as they were.
FIELD_NAMES = {"plan": "plan", "scheduling": "scheduling", "blockers": "blockers",
               "planned_tickets": "tickets", "repo_comments": "repository comments",
               "comment": "your comment"}


def _reading(reading: dict | None, fields: dict) -> dict:
    """How the reply was read: unclear lines, where the plan came from, what it changed."""
    seen = {"unclear": [], "plan_source": None, "notes": [], "given": None,
            "typed": True} | (reading or {})
    given = seen.pop("given")
    seen["changed"] = _and([name for key, name in FIELD_NAMES.items()
                            if given is not None and key in given])
    seen["kept"] = _and([name for key, name in FIELD_NAMES.items()
                         if given is not None and key not in given and fields.get(key)])
    return seen


def _and(names: list[str]) -> str:
    """ "plan", "plan and blockers", "plan, tickets and blockers"."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def receipt(sup: Sup, fields: dict, outcome: str, escalated: bool,
            answering: str | None = None, reading: dict | None = None,
            links: Links | None = None, blocker: dict | None = None,
            still_open: Sup | None = None) -> Message:
    """``answering``: the subject of the reply this receipt answers; ``fields``: the
    answer as recorded now; ``reading``: how the reply was read (handlers.sup);
    ``blocker``: where its blockers stand (``context.blocker_state``); ``still_open``:
    a later SUP of the developer that is still open (this reply answered an older one)."""
    change = None if outcome == "amended" else "Change it in the browser"
    variables = context.base_context(sup, ANSWER_TO_REPLY) | {
        "fields": fields, "outcome": outcome, "escalated": escalated, "blocker": blocker,
        "still_open": {"ref": still_open.reference, "subject": sup_subject(still_open),
                       "day_long": context.day_long(still_open.day)} if still_open else None,
        "pages": _sup_pages(sup, links, answer=change)} | _reading(reading, fields)
    return Message("receipt", reply_subject(answering or sup_subject(sup)), variables)


def refusal(sup: Sup, fields: dict, problems: list[str], unread: list[str],
            answering: str | None = None, reading: dict | None = None,
            links: Links | None = None, reply_address: str | None = None) -> Message:
    """A reply that left the SUP without a plan: what was understood (kept as a
    draft), what was not, the text it would take as the plan, and that a reply
    with just the missing line is enough (``reply_address``: the SUP's signed
    address, for the "Reply with my plan" button)."""
    seen = _reading(reading, fields)
    if not seen["unclear"]:
        seen["unclear"] = [{"line": line, "problem": ""} for line in unread]
    attached = {u["problem"] for u in seen["unclear"]}
    understood = any(fields.get(k) for k in FIELD_NAMES if k != "plan")
    answer = None if sup.status == "reviewed" else "Answer in the browser"
    variables = context.base_context(sup, ANSWER_TO_REPLY) | seen | {
        "fields": fields, "missing": [p for p in problems if p not in attached],
        "understood": understood, "offer": fields.get("comment"),
        "previous_plan_lines": (sup.previous_plan or "").splitlines()[:10],
        "status": sup.status, "kept_plan": sup.plan,
        "short_form": context.short_form(sup),
        "reply_url": reply_with_plan(reply_address, answering or sup_subject(sup)),
        "pages": _sup_pages(sup, links, answer=answer)}
    return Message("refusal", reply_subject(answering or sup_subject(sup)), variables)


def help_answer(sup: Sup, answering: str | None = None, links: Links | None = None) -> Message:
    answer = None if sup.status == "reviewed" else "Answer in the browser"
    return Message("help", reply_subject(answering or sup_subject(sup)),
                   context.base_context(sup, "automatic answer")
                   | {"pages": _sup_pages(sup, links, answer=answer),
                      "short_form": context.short_form(sup)})


def reply_to_sup_email(person: Person, subject_ref: int | None,
                       answering: str | None, links: Links | None = None) -> Message:
    """The answer to mail that names no SUP or digest in a way we can trust."""
    return Message("reply_to_sup_email", reply_subject(answering), {
        "first_name": context.first_name(person.name), "subject_ref": subject_ref,
        "title": "Please reply to the SUP email", "ref": "", "footer": "automatic answer",
        "pages": pages(links, lambda go: [("Your SUPs", go.home())])})


def escalation(sup: Sup, blockers: str, names: list[str] | None = None,
               links: Links | None = None) -> Message:
    """To the delivery managers (``names``); their reply comes back through the signed
    escalation address and reaches the developer."""
    firsts = [context.first_name(n) for n in names or []]
    variables = context.base_context(sup, "blocker escalation") | {
        "manager_names": " and ".join(firsts) if firsts else "",
        "developer_name": sup.developer.name, "developer_email": sup.developer.email,
        "developer_first": context.first_name(sup.developer.name),
        "blockers_lines": blockers.splitlines(), "plan_lines": (sup.plan or "").splitlines(),
        "pages": _sup_pages(sup, links, page="The SUP")}
    return Message("escalation", f"[{sup.reference}] Blocker: {sup.developer.name} "
                   f"({sup.client.name})", variables)


def blocker_reply(sup: Sup, manager: str, text: str, resolved: bool, blockers: str) -> Message:
    """The delivery manager's answer to an escalation, relayed to the developer in the
    thread of their SUP."""
    variables = context.base_context(sup, "your delivery manager answered your blocker") | {
        "manager_name": manager, "manager_first": context.first_name(manager),
        "reply_lines": text.splitlines(), "resolved": resolved,
        "blockers_lines": blockers.splitlines(), "pages": []}
    return Message("blocker_reply", reply_subject(sup_subject(sup)), variables)


def escalation_answer(first_name: str, sup: Sup, outcome: str, answering: str | None,
                      *, developer: str = "", problem: str = "",
                      links: Links | None = None) -> Message:
    """The answer to a reply to an escalation: ``outcome`` is "relayed", "resolved" or
    "refused" (``problem`` says why; nothing was applied or relayed)."""
    variables = context.base_context(sup, ANSWER_TO_REPLY) | {
        "first_name": first_name, "outcome": outcome, "developer_name": developer,
        "problem": problem, "title": f"{sup.reference} blocker",
        "pages": _sup_pages(sup, links, page="The SUP") if outcome != "refused" else []}
    return Message("escalation_answer", reply_subject(answering or sup_subject(sup)),
                   variables)


def hr_digest(client: Client, sups: list[Sup], previous: set[int], day: date,
              links: Links | None = None, missed: list[Sup] = ()) -> Message:
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
                       "commands": context.hr_commands([s.id for s in sups if s.id]),
                       "title": f"{client.name} SUPs to review", "ref": "",
                       "footer": "reply with commands, one per line",
                       "pages": pages(links, lambda go: [("Review in the browser",
                                                         go.hr(client.slug))])})


def team_digest(person: Person, sections: list[dict],
                links: Links | None = None) -> Message:
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
        "title": title, "ref": "", "footer": "team digest",
        "pages": pages(links, lambda go: [
            (f"{s['team_name']} on {s['day']:%a %d %b} as a page",
             go.team(s["org"], s["team_slug"], s["day"])) for s in sections])})


def weekly_summary(person: Person, start: date, sections: list[dict]) -> Message:
    """A delivery manager's week of participation; ``start``: the Monday it begins."""
    names = ", ".join(s["team_name"] for s in sections)
    return Message("weekly_summary", f"Participation {start:%d %b} - "
                   f"{start + timedelta(days=6):%d %b}: {names}", {
                       "first_name": context.first_name(person.name), "sections": sections,
                       "week_long": f"{context.day_long(start)} to "
                                    f"{context.day_long(start + timedelta(days=6))}",
                       "title": "Weekly participation", "ref": "",
                       "footer": "weekly participation summary", "pages": []})


def overdue_reviews(client: Client, sups: list[Sup], links: Links | None = None
                    ) -> Message:
    """Overdue reviews when no GitHub issue can say so (to HR and management)."""
    count = len(sups)
    return Message("overdue_reviews", f"{client.name}: {count} SUP review"
                   f"{'s' if count != 1 else ''} overdue", {
                       "client_name": client.name,
                       "hr_name": context.first_name(client.hr.name) if client.hr_id else "",
                       "items": [context.overdue_item(s) for s in sups],
                       "title": f"{client.name}: overdue reviews", "ref": "",
                       "footer": "overdue SUP reviews",
                       "pages": pages(links, lambda go: [("Review in the browser",
                                                         go.hr(client.slug))])})


def away_answer(person: Person, outcome: str, written: str, *, start: date | None = None,
                end: date | None = None, problem: str | None = None,
                skipped: list[str] = (), reopened: list[str] = (),
                kept: list[tuple[date, date]] = (), limit_days: int = 90,
                links: Links | None = None) -> Message:
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
        "footer": "automatic answer to your mail",
        "pages": pages(links, lambda go: [("Your SUPs", go.home())])})


def command_results(client: Client, changes: list[str], errors: list[str],
                    unknown: list[str], empty: bool, answering: str | None,
                    links: Links | None = None) -> Message:
    return Message("command_results", reply_subject(answering), {
        "client_name": client.name, "changes": changes, "errors": errors,
        "unknown": unknown, "empty": empty, "title": "Digest commands", "ref": "",
        "commands": context.hr_commands([]),
        "footer": "automatic answer to your digest reply",
        "pages": pages(links, lambda go: [("Review queue", go.hr(client.slug))])})


def sign_in(person: Person, url: str, minutes: int) -> Message:
    """The one-time sign-in link someone asked for on ``/login``."""
    return Message("sign_in", "Your mailsup sign-in link", {
        "first_name": context.first_name(person.name), "url": url, "minutes": minutes,
        "title": "Sign in to mailsup", "ref": "",
        "footer": "you asked to sign in; ignore this mail if you did not", "pages": []})


def check_mail(address: str, round_trip: str | None, at: str) -> Message:
    """``mailsup check --send-to``: proof that mail leaves (and, via IMAP, comes back)."""
    return Message("check", "mailsup check: test mail", {
        "address": address, "round_trip": round_trip, "at": at,
        "title": "mailsup test mail", "ref": "",
        "footer": "sent by `mailsup check --send-to`; nothing to do", "pages": []})


def sup_closed(sup: Sup, days: int, answering: str | None = None,
               links: Links | None = None) -> Message:
    """The answer to a reply whose address is older than ``[mailsup] token_days``."""
    return Message("sup_closed", reply_subject(answering or sup_subject(sup)),
                   context.base_context(sup, "automatic answer")
                   | {"days": days, "pages": pages(links, lambda go: [("Your SUPs", go.home())])})


def alias_notice(sup: Sup, address: str, answering: str | None,
                 links: Links | None = None) -> Message:
    """To a developer's registered address: a reply to their SUP came from ``address``,
    which is not theirs; "yes" adds it and applies the kept reply."""
    variables = context.base_context(sup, "a reply to your SUP from an unknown address") | {
        "address": address, "pages": _sup_pages(sup, links)}
    return Message("alias_notice", f"[{sup.reference}] Was this you? A reply from {address}",
                   variables)


def alias_answer(first_name: str, sup: Sup, outcome: str, address: str,
                 answering: str | None, *, problem: str = "", applied: list[str] = (),
                 links: Links | None = None) -> Message:
    """The answer to a reply to that notice: ``outcome`` is "added", "declined",
    "unclear" or "refused" (``problem`` says why nothing changed)."""
    variables = context.base_context(sup, ANSWER_TO_REPLY) | {
        "first_name": first_name, "outcome": outcome, "address": address,
        "problem": problem, "applied": list(applied), "pages": []}
    return Message("alias_answer", reply_subject(answering or sup_subject(sup)), variables)
