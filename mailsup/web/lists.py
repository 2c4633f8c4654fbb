"""The SUP query behind every list page and export: filters, the viewer's scope, order.

One function, so a page and its .csv/.json can never disagree, and no list
ever shows a SUP outside the viewer's role.
"""

from __future__ import annotations

from mailsup import sup as sups
from mailsup.models import Client, Person, Sup
from mailsup.outbound import hr_context
from mailsup.web.filters import ListFilters
from mailsup.web.roles import Viewer

PAGE_ROWS = 200  # a page shows this many; the exports have them all


def waiting(sup: Sup) -> bool:
    """In HR's queue: submitted, or amended after review and not yet seen."""
    return sup.status == "submitted" or (
        sup.status == "reviewed" and len(sup.amendments or []) > (sup.amendments_reviewed or 0))


def sup_rows(filters: ListFilters, viewer: Viewer, *, developer: str | None = None,
             client: str | None = None, clients: list[int] | None = None) -> list[Sup]:
    """SUPs newest first. ``clients``: limit to these client ids (HR's queue)."""
    query = sups.select_sups(client or filters.client, developer or filters.developer,
                             filters.sql_status, filters.since, filters.until)
    scope = viewer.sup_scope()
    if scope is not None:
        query = query.where(scope)
    if clients is not None:
        query = query.where(Sup.client.in_(clients))
    if filters.flagged:
        # Flags are HR-only: the filter only ever looks at the viewer's HR clients.
        hr_clients = viewer.hr_client_ids()
        if hr_clients is not None:
            query = query.where(Sup.client.in_(hr_clients))
        query = hr_context.only_flagged(query)
    if filters.status == "waiting":
        query = query.where(Sup.status.in_(("submitted", "reviewed")))
    rows = query.order_by(Sup.day.desc(), Client.slug, Person.email)
    return [s for s in rows if filters.status != "waiting" or waiting(s)]
