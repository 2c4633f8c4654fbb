"""HR's side of a SUP: review, notes and flags — the HR-only fields.

These functions are the only writers of ``hr_notes``, ``flags``,
``reviewed_by`` and ``reviewed_at``; nothing that renders developer or team
mail reads them (see ``views``).
"""

from __future__ import annotations

import json
import zlib
from datetime import datetime

from mailsup.clock import stamp, utcnow_naive
from mailsup.models import Person, Sup


def _stamp(now: datetime) -> str:
    return stamp(utcnow_naive(now))


def version(sup: Sup) -> str:
    """What HR was shown: the answers and how many amendments there were.

    A digest records it per SUP, so "reviewed" covers exactly what that digest
    showed and never a replacement or amendment that arrived after it.
    """
    shown = [sup.plan, sup.scheduling, sup.blockers, sup.planned_tickets, sup.repo_comments]
    if sup.scheduling_note or sup.comment:  # only then: older versions stay what they were
        shown += [sup.scheduling_note, sup.comment]
    fields = json.dumps(shown, sort_keys=True, default=str)
    return f"{len(sup.amendments or [])}:{zlib.crc32(fields.encode()):08x}"


def review(sup: Sup, reviewer: Person | None, now: datetime, seen: str | None = None) -> str:
    seen_amendments = int(seen.split(":")[0]) if seen else len(sup.amendments or [])
    if sup.status == "reviewed":
        if sup.amendments_reviewed < min(seen_amendments, len(sup.amendments or [])):
            sup.amendments_reviewed = seen_amendments
            sup.save()
            newer = len(sup.amendments or []) - seen_amendments
            tail = f"; {newer} newer will be in the next digest" if newer > 0 else ""
            return f"{sup.reference}: amendments reviewed{tail}"
        return f"{sup.reference}: already reviewed"
    if sup.status != "submitted":
        return f"{sup.reference}: not submitted yet ({sup.status}), not reviewed"
    if seen is not None and seen != version(sup):
        return (f"{sup.reference}: changed since that digest (a newer reply), not reviewed; "
                "it will be in the next digest")
    sup.status, sup.reviewed_by, sup.reviewed_at = "reviewed", reviewer, utcnow_naive(now)
    sup.amendments_reviewed = seen_amendments
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
