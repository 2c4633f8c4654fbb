"""``/hr``: HR's queue with filters, and the actions on one or many SUPs.

Only HR workers (for their clients) and management reach it; a client
outside the viewer's role is a 404. Every change goes through
``mailsup.review``, the only writer of HR-only fields, exactly as HR's mail
commands do; "reviewed" covers the version of each SUP the page showed.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from mailsup import review
from mailsup.models import Client, Sup
from mailsup.outbound import hr_context
from mailsup.web import auth, exports, state, views
from mailsup.web.auth import require, signed_in
from mailsup.web.filters import ListFilters
from mailsup.web.lists import PAGE_ROWS, sup_rows
from mailsup.web.sign_in import safe_next
from mailsup.web.sups import MAX_ID

bp = Blueprint("hr", __name__)

ACTIONS = ("review", "note", "flag", "unflag")
MAX_TEXT = 2000
MAX_SELECTED = 500


def _clients() -> list[Client]:
    ids = auth.viewer().hr_client_ids()
    query = Client.select().order_by(Client.slug)
    return list(query if ids is None else query.where(Client.id.in_(ids)))


def _queue(fmt: str | None):
    viewer = auth.viewer()
    require(viewer.is_hr)
    filters = ListFilters.from_args(request.args, default_status="waiting")
    clients = _clients()
    if filters.client:
        require(any(c.slug == filters.client for c in clients))
    rows = sup_rows(filters, viewer, clients=[c.id for c in clients])
    if fmt:
        return exports.respond(rows, fmt, "hr-queue", viewer)
    now = state.now()
    items = [views.row(s, now) | {"hr": hr_context.hr_page(s), "version": review.version(s)}
             for s in rows[:PAGE_ROWS]]
    return render_template("web/hr.html.j2", items=items, more=len(rows) > PAGE_ROWS,
                           filters=filters, clients=clients, count=len(rows))


@bp.get("/hr")
@signed_in
def queue():
    return _queue(None)


@bp.get("/hr.<fmt>")
@signed_in
def export(fmt: str):
    if fmt not in ("csv", "json"):
        abort(404)
    return _queue(fmt)


def _selected() -> list[Sup]:
    """The SUPs ticked on the form; any outside the viewer's HR role makes it a 404."""
    viewer, found = auth.viewer(), []
    values = request.form.getlist("sup")
    if len(values) > MAX_SELECTED:
        abort(400, description=f"At most {MAX_SELECTED} SUPs at once (a page shows "
                               f"{PAGE_ROWS}). Nothing was changed.")
    for value in values:
        if not value.isdigit() or not 0 < int(value) <= MAX_ID:
            abort(400, description=f"{value[:20]!r} is not a SUP number. Nothing was changed.")
        sup = Sup.get_or_none(Sup.id == int(value))
        require(sup is not None and viewer.hr_of(sup.client_id))
        found.append(sup)
    return found


@bp.post("/hr/act")
@signed_in
def act():
    viewer = auth.viewer()
    require(viewer.is_hr)
    action = request.form.get("action", "")
    text = (request.form.get("text") or "").strip()
    back = safe_next(request.form.get("next")) or url_for("hr.queue")
    if action not in ACTIONS:
        abort(400, description=f"Unknown action {action[:20]!r}; use one of "
                               f"{', '.join(ACTIONS)}. Nothing was changed.")
    if len(text) > MAX_TEXT:
        abort(413, description=f"A note or flag reason is at most {MAX_TEXT} characters. "
                               "Nothing was changed.")
    chosen = _selected()
    if not chosen:
        flash("Tick at least one SUP first; nothing was changed.", "error")
        return redirect(back)
    if action == "note" and not text:
        flash("A note needs text; nothing was changed.", "error")
        return redirect(back)
    for sup in chosen:
        flash(_apply(action, sup, text), "done")
    return redirect(back)


def _apply(action: str, sup: Sup, text: str) -> str:
    viewer, now = auth.viewer(), state.now()
    author = viewer.person.email
    if action == "review":
        seen = request.form.get(f"version-{sup.id}") or None
        return review.review(sup, viewer.person, now, seen)
    if action == "note":
        return review.add_note(sup, author, text, now)
    if action == "flag":
        return review.flag(sup, author, text, now)
    return review.unflag(sup)
