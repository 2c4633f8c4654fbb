"""Turn stored rows into the plain data that developer and team mail renders.

Only the fields named here reach a developer's or a team's mail; the HR-only
fields of a SUP (notes, flags, reviewer) are deliberately absent, so no
template can leak them by accident. What HR's mail adds lives in
``hr_context``, the only module that reads those fields for a mail.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from peewee import fn

from mailsup.clock import Calendar, aware, local_instant
from mailsup.github import footprints
from mailsup.models import SCHEDULING_VALUES, Effect, Membership, Person, Sup


def day_long(day: date) -> str:
    return day.strftime("%A %d %B %Y").replace(" 0", " ")


def first_name(name: str) -> str:
    return (name or "").split(" ")[0] or name


def short_repo(full: str) -> str:
    return full.rsplit("/", 1)[-1]


TICKET_EVENTS = (("opened", "issues_opened"), ("closed", "issues_closed"),
                 ("commented", "issues_commented"))
PR_EVENTS = (("opened", "prs_opened"), ("merged", "prs_merged"))


def _summary(item: dict) -> str:
    # The collector keeps the PR's commit first lines in "commits" (a string).
    summary = item.get("summary") or item.get("commits") or ""
    return summary if isinstance(summary, str) else "; ".join(map(str, summary))


def _once(repo: dict, events: tuple[tuple[str, str], ...]) -> list[dict]:
    """Each issue or PR once, with all its events ("opened, merged"), in first-seen order."""
    by_number: dict[int, dict] = {}
    for verb, key in events:
        for item in repo.get(key, []):
            entry = by_number.setdefault(item["number"], {
                "number": item["number"], "title": item.get("title", ""), "url": None,
                "events": [], "summary": ""})
            entry["events"].append(verb)
            entry["url"] = entry["url"] or item.get("url")
            entry["summary"] = entry["summary"] or _summary(item)
    items = []
    for entry in by_number.values():
        tail = f": {entry['summary']}" if entry["summary"] else ""
        # "label" is what a link shows, "rest" follows it; "text" is the whole line.
        entry["label"] = f"#{entry['number']}"
        entry["rest"] = f" {entry['title']} ({', '.join(entry['events'])}){tail}"
        entry["text"] = entry["label"] + entry["rest"]
        items.append(entry)
    return items


def _commit_items(repo: dict) -> list[dict]:
    items = []
    for c in repo.get("commits", []):
        first = c["message"].splitlines()[0] if c.get("message") else ""
        items.append({"label": c["sha"][:7], "rest": f" {first}", "url": c.get("url"),
                      "text": f"{c['sha'][:7]} {first}"})
    return items


def footprint_repos(footprint: dict | None) -> list[dict]:
    """Per repo: ``tickets``/``prs``/``commits`` as lines of text (each issue or PR
    once), and the same as ``*_items`` with a link target for HTML."""
    repos = []
    for name, repo in sorted(((footprint or {}).get("repos") or {}).items()):
        tickets, prs, commits = (_once(repo, TICKET_EVENTS), _once(repo, PR_EVENTS),
                                 _commit_items(repo))
        entry = {"name": name, "tickets": [t["text"] for t in tickets],
                 "prs": [p["text"] for p in prs], "commits": [c["text"] for c in commits],
                 "ticket_items": tickets, "pr_items": prs, "commit_items": commits}
        if tickets or prs or commits:
            repos.append(entry)
    return repos


def assigned_tickets(footprint: dict | None) -> list[dict]:
    return [{"label": f"{short_repo(t['repo'])}#{t['number']}", "repo": t["repo"],
             "number": t["number"], "title": t.get("title", ""), "url": t.get("url")}
            for t in (footprint or {}).get("assigned", [])]


def _row(command: str, what: str = "", quote: bool = False) -> dict:
    return {"command": command, "what": what, "quote": quote}


def short_form(sup: Sup) -> list[dict]:
    """The short-form lines a developer may type, with examples from their own SUP:
    their assigned tickets and repositories (no ticket lines when they have none).
    Quoted: "scheduling: part day" alone in a reply is an answer, not the mail's text."""
    assigned = assigned_tickets(sup.footprint)
    repos = [r["name"] for r in footprint_repos(sup.footprint)] + [t["repo"] for t in assigned]
    rows = [_row("plan: ...", "what you will do by the next business day; required", True),
            _row("scheduling: part day", "or full day, emergency only, unavailable", True)]
    if assigned:
        rows.append(_row(f"done: {assigned[0]['label']}", "a ticket you expect to finish", True))
    if len(assigned) > 1:
        rows.append(_row(f"working: {assigned[1]['label']}", "a ticket you are working on", True))
    if repos:
        shortest = min((short_repo(r) for r in repos), key=len)
        rows.append(_row(f"comment {shortest}: ...", "a note about that repository", True))
    rows.append(_row("blockers: ...", "what stops you, if anything", True))
    return rows


def hr_commands(ids: list[int]) -> list[dict]:
    """The HR digest's commands, with the numbers of the digest's own SUPs as examples."""
    first = str(ids[0]) if ids else "ID"
    some = " ".join(map(str, ids[:2])) if ids else "ID ID"
    return [_row("reviewed", "all SUPs in this digest"), _row(f"reviewed {some}", "just these"),
            _row(f"note {first}: text", "an HR-only note"),
            _row(f"flag {first} reason", "flag for follow-up"),
            _row(f"unflag {first}", "remove the flag"), _row("help", "the list of commands")]


def base_context(sup: Sup, footer: str) -> dict:
    return {
        "first_name": first_name(sup.developer.name),
        "client_name": sup.client.name,
        "day_long": day_long(sup.day),
        "ref": sup.reference,
        "title": f"{sup.reference} {sup.client.name}",
        "footer": footer,
    }


def sup_request_context(sup: Sup) -> dict:
    return {
        "previous_plan_lines": (sup.previous_plan or "").splitlines(),
        "footprint_note": footprints.notice(sup.footprint_note),
        "repos": footprint_repos(sup.footprint),
        "assigned": assigned_tickets(sup.footprint),
        "scheduling_values": list(SCHEDULING_VALUES),
    }


def footprint_summary(footprint: dict | None) -> list[str]:
    """One line per repo: counts, for digests where detail would drown the plan."""
    lines = []
    for name, repo in sorted(((footprint or {}).get("repos") or {}).items()):
        parts = []
        for label, count in (("tickets", len(_once(repo, TICKET_EVENTS))),
                             ("PRs", len(_once(repo, PR_EVENTS))),
                             ("commits", len(repo.get("commits", [])))):
            if count:
                parts.append(f"{count} {label if count != 1 else label.rstrip('s')}")
        if parts:
            lines.append(f"{name}: {', '.join(parts)}")
    return lines


def tickets(sup: Sup) -> list[str]:
    return [f"{short_repo(t['repo'])}#{t['number']} {t.get('title', '')}".strip()
            + (" (expect done)" if t.get("expect_done") else " (working on it)")
            for t in sup.planned_tickets or []]


def team_entry(person, sup: Sup | None) -> dict:
    """What teammates may see of each other's day: never an HR-only field."""
    entry = {"name": person.name, "email": person.email, "state": "none", "scheduling": None,
             "scheduling_note": None,
             "plan_lines": [], "done": [], "blockers": None, "blocker": None, "reason": None,
             "late": False}
    if sup is None:
        return entry
    if sup.status == "skipped":
        entry.update(state="skipped", reason=sup.skip_reason)
    elif sup.status == "open":
        entry.update(state="away" if sup.away else "open")
    elif sup.status == "missed":
        entry.update(state="missed")
    else:
        entry.update(state="submitted", scheduling=sup.scheduling,
                     scheduling_note=sup.scheduling_note,
                     plan_lines=(sup.plan or "").splitlines(), blockers=sup.blockers,
                     late=bool(sup.late),
                     done=[t.removesuffix(" (expect done)") for t in tickets(sup)
                           if t.endswith("(expect done)")])
    return entry


def team_people(team) -> list[Person]:
    return list(Person.select().join(Membership).where(Membership.team == team)
                .order_by(Person.name))


def _without_sup(person: Person, day: date, now: datetime | None, sup_time) -> dict:
    """A member with no SUP of ``day``: not working, not yet, or none (e.g. added late)."""
    calendar = Calendar.of(person)
    if not calendar.is_workday(day):
        return {"state": "skipped", "reason": "not a workday"}
    absence = calendar.absence(day)
    if absence:
        return {"state": "skipped", "reason": absence}
    if now is not None and sup_time is not None and \
            aware(now) < local_instant(day, sup_time, person.timezone):
        return {"state": "later"}
    return {"state": "none"}


def team_members(team, day: date, now: datetime | None = None, sup_time=None) -> list[dict]:
    """Each member's entry for the team's page or digest of ``day``.

    Each member's SUP *of that date*, whatever their time zone: the digest of
    Tuesday shows everyone's Tuesday. A member without one is "later" only
    while their ``day`` morning (``sup_time``, on their clock) is still to
    come as of ``now``; on a day they do not work they are "off".
    """
    client = team.org.client
    members = team_people(team)
    sups = {s.developer_id: s for s in Sup.select().where(
        (Sup.client == client) & Sup.developer.in_([m.id for m in members]) & (Sup.day == day))}
    entries = []
    for m in members:
        sup = sups.get(m.id)
        entry = team_entry(m, sup)
        if entry["blockers"]:  # where it stands, and since when ("day N")
            entry["blocker"] = blocker_state(sup, blocker_thread(sup))
        if entry["state"] == "none":
            entry.update(_without_sup(m, day, now, sup_time))
        entries.append(entry)
    return entries


def missed_before(team, day: date) -> tuple[date | None, list[dict]]:
    """The team's previous SUP date before ``day``, and who missed it (or answered late)."""
    client = team.org.client
    ids = [m.id for m in team_people(team)]
    previous = (Sup.select(fn.MAX(Sup.day)).where((Sup.client == client)
                                                  & Sup.developer.in_(ids) & (Sup.day < day))
                .scalar())
    if previous is None:
        return None, []
    rows = (Sup.select(Sup, Person).join(Person, on=(Sup.developer == Person.id))
            .where((Sup.client == client) & Sup.developer.in_(ids) & (Sup.day == previous)
                   & ((Sup.status == "missed") | (Sup.late == True)))  # noqa: E712
            .order_by(Person.name))
    return previous, [{"name": s.developer.name, "late": s.status != "missed"} for s in rows]


def first_sup_day(team) -> date | None:
    """The day of the team's first SUP for its client: no digest before it."""
    ids = [m.id for m in team_people(team)]
    return (Sup.select(fn.MIN(Sup.day)).where((Sup.client == team.org.client)
                                              & Sup.developer.in_(ids)).scalar())


def team_section(team, day: date, now: datetime | None, sup_time) -> dict:
    """One team's part of a team digest of ``day``."""
    entries = team_members(team, day, now, sup_time)
    previous, missed = missed_before(team, day)
    return {"team_id": team.id, "team_name": team.name, "client_name": team.org.client.name,
            "org": team.org.login, "team_slug": team.slug, "day": day,
            "day_long": day_long(day), "entries": entries,
            "missing": [e["name"] for e in entries if e["state"] == "open"],
            "previous_day": day_long(previous) if previous else None, "missed": missed}


def reminder_items(sups: list[Sup], addresses: list[str]) -> list[dict]:
    """A reminder's SUPs, each with the address that answers it."""
    return [{"ref": s.reference, "client_name": s.client.name, "day_long": day_long(s.day),
             "address": address} for s, address in zip(sups, addresses, strict=True)]


def participation(sups: list[Sup]) -> dict:
    """One person's week in counts: what a delivery manager's summary shows."""
    counts = {"on_time": 0, "late": 0, "missed": 0, "skipped": 0, "open": 0}
    for sup in sups:
        if sup.status in ("submitted", "reviewed"):
            counts["late" if sup.late else "on_time"] += 1
        elif sup.status in counts:
            counts[sup.status] += 1
    return counts


def missed_item(sup: Sup) -> dict:
    """A missed SUP in HR's digest: who, which day, and whether a late reply came since."""
    return {"ref": sup.reference, "developer": sup.developer.name, "email": sup.developer.email,
            "day_long": day_long(sup.day),
            "state": "answered late" if sup.late else "missed"}


def overdue_item(sup: Sup) -> dict:
    return {"id": sup.id, "ref": sup.reference, "developer": sup.developer.name,
            "email": sup.developer.email, "day_long": day_long(sup.day),
            "submitted": f"{sup.submitted_at:%Y-%m-%d %H:%M} UTC" if sup.submitted_at else "-"}


# --- blockers as a conversation (design §5) ----------------------------------
#
# One escalation Effect is one blocker's thread: the text sent to the delivery
# managers ("blockers", compared as "norm"), every SUP that reported it
# ("sups", so a replacement or the next day's repeat sends nothing again), the
# first day it was reported ("day"), the managers' replies ("acks") and
# "resolved". Rows written before these keys existed have only "to".

_BLOCKER_EDGES = re.compile(r"^[\s\-*•.]+|[\s.!;,]+$")


def blocker_norm(text: str | None) -> str:
    """The text as compared: "Staging is down." and "staging is  down" are one blocker."""
    lines = (_BLOCKER_EDGES.sub("", line) for line in (text or "").splitlines())
    return "\n".join(" ".join(line.split()).casefold() for line in lines if line.strip())


def escalations_of(developer_id: int, client_id: int, limit: int = 200) -> list[Effect]:
    """A developer's escalations for a client, newest first (few: one per blocker)."""
    return list(Effect.select(Effect, Sup).join(Sup, on=(Effect.sup == Sup.id))
                .where((Effect.kind == "escalation") & (Sup.developer == developer_id)
                       & (Sup.client == client_id))
                .order_by(Effect.id.desc()).limit(limit))


def escalation_sups(effect: Effect) -> set[int]:
    return set((effect.data or {}).get("sups") or []) | {effect.sup_id}


def escalation_norm(effect: Effect) -> str:
    data = effect.data or {}
    return data.get("norm") or blocker_norm(data.get("blockers") or effect.sup.blockers)


def blocker_thread(sup: Sup, text: str | None = None) -> Effect | None:
    """The escalation that carries this SUP's blockers (``text``, default the SUP's)."""
    norm = blocker_norm(text if text is not None else sup.blockers)
    if not norm or sup.id is None:
        return None
    for effect in escalations_of(sup.developer_id, sup.client_id):
        if sup.id in escalation_sups(effect) and escalation_norm(effect) == norm:
            return effect
    return None


def blocker_days(first: date, day: date, calendar: Calendar) -> int:
    """"day N": the business days a blocker has been reported on, counting its first."""
    count, current = 1, first
    while current < day and count < 400:
        current += timedelta(days=1)
        if calendar.is_business_day(current):
            count += 1
    return count


def blocker_state(sup: Sup, effect: Effect | None, *, new: bool = False) -> dict:
    """What a receipt and a team digest say about a SUP's blockers."""
    if effect is None:
        return {"state": "not_sent", "new": False, "day": 1, "to_names": "", "by": "",
                "since_long": day_long(sup.day), "reply_lines": []}
    data = effect.data or {}
    first = date.fromisoformat(data["day"]) if data.get("day") else effect.sup.day
    acks = data.get("acks") or []
    resolved = data.get("resolved")
    last = resolved or (acks[-1] if acks else None)
    state = "resolved" if resolved else "acknowledged" if acks else "escalated"
    return {"state": state, "new": new, "day": blocker_days(first, sup.day, Calendar.of(
                sup.developer)) if sup.day >= first else 1,
            "since_long": day_long(first), "since_ref": f"SUP {effect.sup_id}",
            "to_names": " and ".join(data.get("names") or data.get("to") or []),
            "by": (last or {}).get("name", ""),
            "reply_lines": ((acks[-1].get("text") if acks else "") or "").splitlines()[:6]}
