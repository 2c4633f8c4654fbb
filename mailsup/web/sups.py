"""``/`` (my SUPs), ``/sups.csv|json`` and ``/sups/<id>``: the SUP archive.

A SUP page shows the footprint, plan, tickets, blockers and amendments, its
previous and next SUP of the same developer and client, and links to the
developer and the client where the viewer may open them; the HR panel
(notes, flags, review) only for HR of the SUP's client and management.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from mailsup import review
from mailsup.clock import local_date
from mailsup.models import Client, Membership, Org, Sup, Team
from mailsup.outbound import hr_context, links
from mailsup.web import auth, charts, exports, participation, state, views
from mailsup.web.auth import require, signed_in
from mailsup.web.filters import ListFilters

bp = Blueprint("sups", __name__)

HOME_LIMIT = 60
MAX_ID = 2**31 - 1  # larger ids would overflow PostgreSQL's integer: no such SUP


def get_sup(sup_id: int) -> Sup:
    sup = Sup.get_or_none(Sup.id == sup_id) if 0 < sup_id <= MAX_ID else None
    if sup is None:
        abort(404)
    return sup


def _mine(filters: ListFilters):
    viewer = auth.viewer()
    query = Sup.select().where(Sup.developer == viewer.person)
    if filters.client:
        query = query.join(Client).where(Client.slug == filters.client)
    if filters.sql_status:
        query = query.where(Sup.status == filters.sql_status)
    if filters.since:
        query = query.where(Sup.day >= filters.since)
    if filters.until:
        query = query.where(Sup.day <= filters.until)
    return query.order_by(Sup.day.desc(), Sup.id.desc())


@bp.get("/")
@signed_in
def home():
    viewer, now = auth.viewer(), state.now()
    mine = list(_mine(ListFilters()).limit(HOME_LIMIT))
    if not mine and viewer.is_hr:
        return redirect(url_for("hr.queue"))
    rows = [views.row(s, now) for s in mine]
    today = local_date(now, viewer.person.timezone)
    teams = list(Team.select(Team, Org).join(Org).where(Team.id.in_(sorted(viewer.team_ids())))
                 .order_by(Org.login, Team.slug))
    weeks = participation.weekly(
        Sup.select().where((Sup.developer == viewer.person)
                           & (Sup.day >= participation.since(today))), today, now)
    return render_template(
        "web/home.html.j2", rows=rows, open_rows=[r for r in rows if r["state"] == "open"],
        teams=[{"name": t.name, "org": t.org.login, "url": links.team_path(t.org.login, t.slug,
                                                                            today)}
               for t in teams],
        chart=charts.participation_svg(weeks, "Your SUPs of the last 8 weeks"),
        totals=participation.totals(weeks), limit=HOME_LIMIT)


@bp.get("/sups.<fmt>")
@signed_in
def export_mine(fmt: str):
    if fmt not in ("csv", "json"):
        abort(404)
    filters = ListFilters.from_args(request.args)
    return exports.respond(list(_mine(filters)), fmt, "my-sups", auth.viewer())


def _team_days(sup: Sup) -> list[dict]:
    """The developer's teams at this client whose day page the viewer may open."""
    viewer = auth.viewer()
    teams = (Team.select(Team, Org).join(Org).switch(Team).join(Membership)
             .where((Membership.person == sup.developer) & (Org.client == sup.client)))
    return [{"name": t.name, "url": links.team_path(t.org.login, t.slug, sup.day)}
            for t in teams if viewer.sees_team(t)]


@bp.get("/sups/<int:sup_id>")
@signed_in
def show(sup_id: int):
    viewer, sup = auth.viewer(), get_sup(sup_id)
    require(viewer.sees_sup(sup))
    hr = hr_context.hr_page(sup) if viewer.hr_of(sup.client_id) else None
    return render_template(
        "web/sup.html.j2", sup=views.detail(sup, state.now()), hr=hr,
        version=review.version(sup) if hr is not None else None,
        can_answer=sup.developer_id == viewer.person.id and sup.status != "skipped",
        person_link=viewer.sees_person(sup.developer),
        client_link=viewer.sees_client(sup.client), team_days=_team_days(sup))
