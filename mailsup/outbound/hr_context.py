"""What HR's mail and HR's pages show of a SUP, HR-only fields included.

This is the only module that reads ``hr_notes``, ``flags`` and
``reviewed_by`` for a mail or a page (a test greps the package for it), and
what it builds goes only into mail to a client's HR worker or management, or
into a page after the server checked ``Viewer.hr_of`` for the SUP's client.
Developer and team mail is built from ``context`` and every other page from
``web.views``, which have no path to these fields.
"""

from __future__ import annotations

from peewee import fn

from mailsup.clock import stamp
from mailsup.models import Sup
from mailsup.outbound import context


def hr_entry(sup: Sup, is_new: bool) -> dict:
    """Everything HR reviews, HR-only fields included: only for the HR digest."""
    seen = sup.amendments_reviewed or 0
    return {
        "id": sup.id, "ref": sup.reference, "new": is_new, "status": sup.status,
        "developer": sup.developer.name, "email": sup.developer.email,
        "day": context.day_long(sup.day), "scheduling": sup.scheduling,
        "scheduling_note": sup.scheduling_note, "comment": sup.comment,
        "plan_lines": (sup.plan or "").splitlines(), "blockers": sup.blockers,
        "tickets": context.tickets(sup), "comments": sup.repo_comments or {},
        "footprint": context.footprint_summary(sup.footprint),
        "amendments": [a["fields"].get("plan", "") for a in (sup.amendments or [])[seen:]],
        "notes": [n["text"] for n in sup.hr_notes or []],
        "flags": [f["reason"] for f in sup.flags or []],
    }


def hr_digest_items(sups: list[Sup], previous: set[int]) -> list[dict]:
    """The digest's entries; ``previous`` holds the ids the last digest showed (not "new")."""
    return [hr_entry(s, s.id not in previous) for s in sups]


# --- the pages (only after the server checked the viewer is HR of the SUP's client) ---

def hr_page(sup: Sup) -> dict:
    """The HR panel of a SUP page and the HR columns of HR's queue."""
    return {
        "notes": [{"by": n.get("by", ""), "at": n.get("at", ""), "text": n.get("text", "")}
                  for n in sup.hr_notes or []],
        "flags": [{"by": f.get("by", ""), "at": f.get("at", ""), "reason": f.get("reason", "")}
                  for f in sup.flags or []],
        "reviewed_by": sup.reviewed_by.email if sup.reviewed_by_id else None,
        "reviewed_at": stamp(sup.reviewed_at),
    }


def hr_record(sup: Sup) -> dict:
    """The HR-only keys of an export, named as in ``mailsup sup show --json``."""
    return {"hr_notes": sup.hr_notes or [], "flags": sup.flags or [],
            "reviewed_at": stamp(sup.reviewed_at),
            "reviewed_by": sup.reviewed_by.email if sup.reviewed_by_id else None}


def only_flagged(query):
    """HR's "flagged" filter (JSON text longer than "[]": at least one flag)."""
    return query.where(fn.LENGTH(Sup.flags) > 2)


def is_flagged(sup: Sup) -> bool:
    return bool(sup.flags)
