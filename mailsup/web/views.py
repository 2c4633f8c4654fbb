"""SUP rows as pages show them: fields any viewer of the SUP may see, never HR-only ones.

What HR adds goes through ``outbound.hr_context`` (``hr_page``), only where
the viewer's role allows it; nothing in this module reads an HR-only field.
"""

from __future__ import annotations

from datetime import datetime

from mailsup import sup as sups
from mailsup.clock import stamp
from mailsup.models import Sup
from mailsup.outbound import context, links
from mailsup.web.participation import state_of


def first_line(text: str | None, limit: int = 120) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def row(sup: Sup, now: datetime) -> dict:
    """One line of a SUP list."""
    return {
        "id": sup.id, "ref": sup.reference, "url": links.sup_path(sup.id), "day": sup.day,
        "developer": sup.developer.name, "email": sup.developer.email,
        "person_url": links.person_path(sup.developer.email),
        "client": sup.client.name, "client_slug": sup.client.slug,
        "client_url": links.client_path(sup.client.slug),
        "status": sup.status, "state": state_of(sup, now), "scheduling": sup.scheduling,
        "plan": first_line(sup.plan), "blockers": first_line(sup.blockers),
        "answer_url": links.answer_path(sup.id),
    }


def amendments(sup: Sup) -> list[dict]:
    return [{"at": a.get("at", ""), "plan": a.get("fields", {}).get("plan"),
             "scheduling": a.get("fields", {}).get("scheduling"),
             "blockers": a.get("fields", {}).get("blockers")}
            for a in sup.amendments or []]


def detail(sup: Sup, now: datetime) -> dict:
    """Everything the SUP page shows to anyone who may see the SUP."""
    previous_id, next_id = sups.neighbours(sup)
    return row(sup, now) | {
        "plan_lines": (sup.plan or "").splitlines(),
        "blocker_lines": (sup.blockers or "").splitlines(),
        "previous_plan_lines": (sup.previous_plan or "").splitlines(),
        "tickets": context.tickets(sup),
        "comments": sup.repo_comments or {},
        "repos": context.footprint_repos(sup.footprint),
        "assigned": context.assigned_tickets(sup.footprint),
        "footprint_note": sup.footprint_note,
        "skip_reason": sup.skip_reason, "away": sup.away,
        "submitted_at": stamp(sup.submitted_at), "window_start": stamp(sup.window_start),
        "window_end": stamp(sup.window_end),
        "amendments": amendments(sup),
        "previous_url": links.sup_path(previous_id) if previous_id else None,
        "next_url": links.sup_path(next_id) if next_id else None,
        "day_long": context.day_long(sup.day),
    }


def record(sup: Sup, now: datetime) -> dict:
    """A SUP in a .json export: the keys of ``mailsup sup list --json`` a viewer may see."""
    return {
        "id": sup.id, "developer": sup.developer.email, "client": sup.client.slug,
        "day": stamp(sup.day), "status": sup.status, "participation": state_of(sup, now),
        "skip_reason": sup.skip_reason, "away": sup.away,
        "created_at": stamp(sup.created_at), "submitted_at": stamp(sup.submitted_at),
        "window_start": stamp(sup.window_start), "window_end": stamp(sup.window_end),
        "scheduling": sup.scheduling, "plan": sup.plan, "blockers": sup.blockers,
        "previous_plan": sup.previous_plan, "planned_tickets": sup.planned_tickets or [],
        "repo_comments": sup.repo_comments or {}, "amendments": sup.amendments or [],
    }
