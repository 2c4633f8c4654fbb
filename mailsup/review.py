"""HR's side of a SUP: review, notes and flags — the HR-only fields.

These functions are the only writers of ``hr_notes``, ``flags``,
``reviewed_by`` and ``reviewed_at``; nothing that renders developer or team
mail reads them (see ``views``).
"""

from __future__ import annotations

from datetime import datetime

from .models import Person, Sup, utcnow_naive


def _stamp(now: datetime) -> str:
    return utcnow_naive(now).isoformat() + "Z"


def review(sup: Sup, reviewer: Person | None, now: datetime) -> str:
    if sup.status == "reviewed":
        seen = len(sup.amendments or [])
        if sup.amendments and sup.amendments_reviewed < seen:
            sup.amendments_reviewed = seen
            sup.save()
            return f"{sup.reference}: amendments reviewed"
        return f"{sup.reference}: already reviewed"
    if sup.status != "submitted":
        return f"{sup.reference}: not submitted yet ({sup.status}), not reviewed"
    sup.status, sup.reviewed_by, sup.reviewed_at = "reviewed", reviewer, utcnow_naive(now)
    sup.amendments_reviewed = len(sup.amendments or [])
    sup.save()
    return f"{sup.reference}: reviewed"


def add_note(sup: Sup, author: str, text: str, now: datetime) -> str:
    sup.hr_notes = (sup.hr_notes or []) + [{"by": author, "at": _stamp(now), "text": text}]
    sup.save()
    return f"{sup.reference}: note added"


def flag(sup: Sup, author: str, reason: str, now: datetime) -> str:
    sup.flags = (sup.flags or []) + [{"by": author, "at": _stamp(now),
                                      "reason": reason or "(no reason given)"}]
    sup.save()
    return f"{sup.reference}: flagged" + (f" ({reason})" if reason else "")


def unflag(sup: Sup) -> str:
    if not sup.flags:
        return f"{sup.reference}: had no flag"
    sup.flags = []
    sup.save()
    return f"{sup.reference}: flag removed"
