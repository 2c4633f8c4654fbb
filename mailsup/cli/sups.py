"""The operator's (management's) view of SUPs: JSON for scripts, text for people.

This is the one place that shows HR-only fields, because the CLI is run by
the operator; nothing here is ever mailed to a developer or a team.
"""

from __future__ import annotations

from datetime import date, datetime

from mailsup.models import Client, Person, Sup


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    return value.isoformat()


def neighbours(sup: Sup) -> tuple[int | None, int | None]:
    """Previous and next SUP of the same developer for the same client."""
    same = (Sup.developer == sup.developer) & (Sup.client == sup.client)
    prev = Sup.select(Sup.id).where(same & (Sup.day < sup.day)).order_by(Sup.day.desc()).first()
    nxt = Sup.select(Sup.id).where(same & (Sup.day > sup.day)).order_by(Sup.day).first()
    return (prev.id if prev else None, nxt.id if nxt else None)


def sup_as_dict(sup: Sup, *, footprint: bool = True) -> dict:
    previous_id, next_id = neighbours(sup)
    data = {
        "id": sup.id,
        "developer": sup.developer.email,
        "client": sup.client.slug,
        "day": _iso(sup.day),
        "status": sup.status,
        "skip_reason": sup.skip_reason,
        "away": sup.away,
        "created_at": _iso(sup.created_at),
        "due_at": _iso(sup.due_at),
        "nag_at": _iso(sup.nag_at),
        "submitted_at": _iso(sup.submitted_at),
        "window_start": _iso(sup.window_start),
        "window_end": _iso(sup.window_end),
        "scheduling": sup.scheduling,
        "plan": sup.plan,
        "blockers": sup.blockers,
        "previous_plan": sup.previous_plan,
        "planned_tickets": sup.planned_tickets or [],
        "repo_comments": sup.repo_comments or {},
        "amendments": sup.amendments or [],
        "previous_id": previous_id,
        "next_id": next_id,
        "hr_notes": sup.hr_notes or [],
        "flags": sup.flags or [],
        "reviewed_at": _iso(sup.reviewed_at),
        "reviewed_by": sup.reviewed_by.email if sup.reviewed_by_id else None,
    }
    if footprint:
        data["footprint"] = sup.footprint
        data["footprint_note"] = sup.footprint_note
    return data


def select_sups(client: str | None = None, developer: str | None = None,
                status: str | None = None, since: date | None = None,
                until: date | None = None):
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


def sup_line(sup: Sup) -> str:
    plan = (sup.plan or "").splitlines()[0][:50] if sup.plan else ""
    return (f"{sup.id:>6}  {sup.day}  {sup.client.slug:<12} {sup.developer.email:<28} "
            f"{sup.status:<9} {plan}")


def sup_text(sup: Sup) -> str:
    data = sup_as_dict(sup)
    lines = [f"{sup.reference}: {data['developer']} for {data['client']} on {data['day']}"
             f" [{data['status']}]"]
    for key in ("skip_reason", "created_at", "submitted_at", "window_start", "window_end",
                "scheduling", "plan", "blockers", "previous_plan", "planned_tickets",
                "repo_comments", "footprint_note", "amendments", "hr_notes", "flags",
                "reviewed_by", "reviewed_at", "previous_id", "next_id"):
        value = data.get(key)
        if value in (None, [], {}, ""):
            continue
        items = _readable(key, value)
        if len(items) == 1 and "\n" not in items[0]:
            lines.append(f"  {key}: {items[0]}")
        else:
            lines.append(f"  {key}:")
            lines.extend(f"    {line}" for item in items for line in item.splitlines())
    return "\n".join(lines)


def _readable(key: str, value) -> list[str]:
    """One line per item, in words rather than Python reprs."""
    if key == "planned_tickets":
        return [f"{t['repo']}#{t['number']} {t.get('title', '')} "
                f"({'expect done' if t.get('expect_done') else 'working on it'})" for t in value]
    if key == "repo_comments":
        return [f"{repo}: {text}" for repo, text in value.items()]
    if key == "hr_notes":
        return [f"{n.get('at', '')} {n.get('by', '')}: {n.get('text', '')}" for n in value]
    if key == "flags":
        return [f"{f.get('at', '')} {f.get('by', '')}: {f.get('reason', '')}" for f in value]
    if key == "amendments":
        return [f"{a.get('at', '')}: plan: {a.get('fields', {}).get('plan', '')}" for a in value]
    return [str(value)]
