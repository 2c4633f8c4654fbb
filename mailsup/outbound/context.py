"""Turn stored rows into the plain data that templates render.

Only the fields named here reach a developer's or a team's mail; the HR-only
fields of a SUP (notes, flags, reviewer) are deliberately absent, so no
template can leak them by accident.
"""

from __future__ import annotations

from datetime import date

from mailsup.models import SCHEDULING_VALUES, Sup


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
    ctx = base_context(sup, "reply to this email to answer")
    ctx.update({
        "previous_plan_lines": (sup.previous_plan or "").splitlines(),
        "footprint_note": sup.footprint_note,
        "repos": footprint_repos(sup.footprint),
        "assigned": assigned_tickets(sup.footprint),
        "scheduling_values": list(SCHEDULING_VALUES),
    })
    return ctx


def sup_subject(sup: Sup, prefix: str = "") -> str:
    return f"{prefix}[{sup.reference}] {sup.client.name} stand-up for {sup.day:%a %d %b}"


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


def _tickets(sup: Sup) -> list[str]:
    return [f"{short_repo(t['repo'])}#{t['number']} {t.get('title', '')}".strip()
            + (" (expect done)" if t.get("expect_done") else " (working on it)")
            for t in sup.planned_tickets or []]


def hr_entry(sup: Sup, is_new: bool) -> dict:
    """Everything HR reviews, HR-only fields included: only for the HR digest."""
    seen = sup.amendments_reviewed or 0
    return {
        "id": sup.id, "ref": sup.reference, "new": is_new, "status": sup.status,
        "developer": sup.developer.name, "email": sup.developer.email,
        "day": day_long(sup.day), "scheduling": sup.scheduling or "-",
        "plan_lines": (sup.plan or "").splitlines(), "blockers": sup.blockers,
        "tickets": _tickets(sup), "comments": sup.repo_comments or {},
        "footprint": footprint_summary(sup.footprint),
        "amendments": [a["fields"].get("plan", "") for a in (sup.amendments or [])[seen:]],
        "notes": [n["text"] for n in sup.hr_notes or []],
        "flags": [f["reason"] for f in sup.flags or []],
    }


def team_entry(person, sup: Sup | None) -> dict:
    """What teammates may see of each other's day: never an HR-only field."""
    entry = {"name": person.name, "email": person.email, "state": "none", "scheduling": None,
             "plan_lines": [], "done": [], "blockers": None, "reason": None}
    if sup is None:
        return entry
    if sup.status == "skipped":
        entry.update(state="skipped", reason=sup.skip_reason)
    elif sup.status == "open":
        entry.update(state="away" if sup.away else "open")
    else:
        entry.update(state="submitted", scheduling=sup.scheduling,
                     plan_lines=(sup.plan or "").splitlines(), blockers=sup.blockers,
                     done=[t.removesuffix(" (expect done)") for t in _tickets(sup)
                           if t.endswith("(expect done)")])
    return entry
