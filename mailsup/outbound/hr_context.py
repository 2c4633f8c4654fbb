"""What HR's mail shows of a SUP, HR-only fields included.

This is the only module that reads ``hr_notes`` and ``flags`` for a mail (a
test greps the package for it), and what it builds goes only into mail to a
client's HR worker or management. Developer and team mail is built from
``context``, which has no path to these fields.
"""

from __future__ import annotations

from mailsup.models import Sup
from mailsup.outbound import context


def hr_entry(sup: Sup, is_new: bool) -> dict:
    """Everything HR reviews, HR-only fields included: only for the HR digest."""
    seen = sup.amendments_reviewed or 0
    return {
        "id": sup.id, "ref": sup.reference, "new": is_new, "status": sup.status,
        "developer": sup.developer.name, "email": sup.developer.email,
        "day": context.day_long(sup.day), "scheduling": sup.scheduling or "-",
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
