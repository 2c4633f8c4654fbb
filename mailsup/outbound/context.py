"""Turn stored rows into the plain data that developer and team mail renders.

Only the fields named here reach a developer's or a team's mail; the HR-only
fields of a SUP (notes, flags, reviewer) are deliberately absent, so no
template can leak them by accident. What HR's mail adds lives in
``hr_context``, the only module that reads those fields for a mail.
"""

from __future__ import annotations

from datetime import date, datetime

from mailsup.clock import aware, local_date, local_instant
from mailsup.models import SCHEDULING_VALUES, Membership, Person, Sup


def day_long(day: date) -> str:
    return day.strftime("%A %d %B %Y").replace(" 0", " ")


def first_name(name: str) -> str:
    return (name or "").split(" ")[0] or name


def short_repo(full: str) -> str:
    return full.rsplit("/", 1)[-1]


def _ticket_lines(repo: dict) -> list[str]:
    lines = []
    for verb, key in (("opened", "issues_opened"), ("closed", "issues_closed"),
                      ("commented", "issues_commented")):
        for item in repo.get(key, []):
            lines.append(f"#{item['number']} {item.get('title', '')} ({verb})")
    return lines


def _pr_lines(repo: dict) -> list[str]:
    lines = []
    for verb, key in (("opened", "prs_opened"), ("merged", "prs_merged")):
        for item in repo.get(key, []):
            # The collector keeps the PR's commit first lines in "commits" (a string).
            summary = item.get("summary") or item.get("commits") or ""
            summary = summary if isinstance(summary, str) else "; ".join(map(str, summary))
            tail = f": {summary}" if summary else ""
            lines.append(f"#{item['number']} {item.get('title', '')} ({verb}){tail}")
    return lines


def _commit_lines(repo: dict) -> list[str]:
    return [f"{c['sha'][:7]} {c.get('message', '').splitlines()[0] if c.get('message') else ''}"
            for c in repo.get("commits", [])]


def footprint_repos(footprint: dict | None) -> list[dict]:
    repos = []
    for name, repo in sorted(((footprint or {}).get("repos") or {}).items()):
        entry = {"name": name, "tickets": _ticket_lines(repo), "prs": _pr_lines(repo),
                 "commits": _commit_lines(repo)}
        if entry["tickets"] or entry["prs"] or entry["commits"]:
            repos.append(entry)
    return repos


def assigned_tickets(footprint: dict | None) -> list[dict]:
    return [{"label": f"{short_repo(t['repo'])}#{t['number']}", "repo": t["repo"],
             "number": t["number"], "title": t.get("title", "")}
            for t in (footprint or {}).get("assigned", [])]


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
        "footprint_note": sup.footprint_note,
        "repos": footprint_repos(sup.footprint),
        "assigned": assigned_tickets(sup.footprint),
        "scheduling_values": list(SCHEDULING_VALUES),
    }


def footprint_summary(footprint: dict | None) -> list[str]:
    """One line per repo: counts, for digests where detail would drown the plan."""
    lines = []
    for name, repo in sorted(((footprint or {}).get("repos") or {}).items()):
        parts = []
        for label, keys in (("tickets", ("issues_opened", "issues_closed", "issues_commented")),
                            ("PRs", ("prs_opened", "prs_merged")), ("commits", ("commits",))):
            count = sum(len(repo.get(k, [])) for k in keys)
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
             "plan_lines": [], "done": [], "blockers": None, "reason": None}
    if sup is None:
        return entry
    if sup.status == "skipped":
        entry.update(state="skipped", reason=sup.skip_reason)
    elif sup.status == "open":
        entry.update(state="away" if sup.away else "open")
    else:
        entry.update(state="submitted", scheduling=sup.scheduling,
                     scheduling_note=sup.scheduling_note,
                     plan_lines=(sup.plan or "").splitlines(), blockers=sup.blockers,
                     done=[t.removesuffix(" (expect done)") for t in tickets(sup)
                           if t.endswith("(expect done)")])
    return entry


def team_members(team, day: date, now: datetime | None = None, sup_time=None) -> list[dict]:
    """Each member's entry for the team digest of ``day``.

    Each member as of their own local day: west of the team's clock, today's
    SUP may not exist yet, which is "later", not "no SUP today".
    """
    client = team.org.client
    members = list(Person.select().join(Membership).where(Membership.team == team)
                   .order_by(Person.name))
    days = {m.id: local_date(now, m.timezone) if now else day for m in members}
    sups = {(s.developer_id, s.day): s for s in Sup.select().where(
        (Sup.client == client) & Sup.developer.in_([m.id for m in members])
        & Sup.day.in_(list(set(days.values()))))}
    entries = []
    for m in members:
        entry = team_entry(m, sups.get((m.id, days[m.id])))
        if entry["state"] == "none" and now is not None and sup_time is not None and \
                aware(now) < local_instant(days[m.id], sup_time, m.timezone):
            entry["state"] = "later"
        entries.append(entry)
    return entries
