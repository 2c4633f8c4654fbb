"""A developer, a client, a team's day: ``/people/<email>``, ``/clients/<slug>``,
``/teams/<org>/<slug>/<date>`` (the team digest as a page), with participation.

Lists here show only the SUPs the viewer's role allows (``lists.sup_rows``),
and each list is also a .csv and a .json (``/people/alice@example.com.csv``).
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, render_template, request

from mailsup.clock import local_date
from mailsup.directory import developers_of
from mailsup.models import Client, Membership, Org, Person, Sup, Team
from mailsup.outbound import context, links
from mailsup.web import auth, charts, exports, participation, state, views
from mailsup.web.auth import require, signed_in
from mailsup.web.filters import ListFilters, split_format
from mailsup.web.lists import PAGE_ROWS, sup_rows

bp = Blueprint("people", __name__)


def _chart(sups: list[Sup], today: date, title: str):
    weeks = participation.weekly(sups, today, state.now())
    return charts.participation_svg(weeks, title), participation.totals(weeks)


def _recent(query, today: date):
    return list(query.where(Sup.day >= participation.since(today)))


@bp.get("/people/<path:name>")
@signed_in
def person(name: str):
    viewer = auth.viewer()
    email, fmt = split_format(name)
    person = Person.get_or_none(Person.email == email.strip().lower())
    require(person is not None and viewer.sees_person(person))
    filters = ListFilters.from_args(request.args)
    rows = sup_rows(filters, viewer, developer=person.email)
    if fmt:
        return exports.respond(rows, fmt, f"sups-{person.email}", viewer)
    now = state.now()
    today = local_date(now, person.timezone)
    query = Sup.select().where(Sup.developer == person)
    scope = viewer.sup_scope()
    chart, totals = _chart(_recent(query.where(scope) if scope is not None else query, today),
                           today, f"SUPs of {person.name} in the last 8 weeks")
    return render_template("web/person.html.j2", person=person, filters=filters,
                           rows=[views.row(s, now) for s in rows[:PAGE_ROWS]],
                           more=len(rows) > PAGE_ROWS, chart=chart, totals=totals,
                           export_path=links.person_path(person.email))


@bp.get("/clients/<name>")
@signed_in
def client(name: str):
    viewer = auth.viewer()
    slug, fmt = split_format(name)
    found = Client.get_or_none(Client.slug == slug)
    require(found is not None and viewer.sees_client(found))
    filters = ListFilters.from_args(request.args)
    rows = sup_rows(filters, viewer, client=found.slug)
    if fmt:
        return exports.respond(rows, fmt, f"sups-{found.slug}", viewer)
    now = state.now()
    today = now.date()
    developers = [{"name": p.name, "email": p.email, "url": links.person_path(p.email)}
                  for p in developers_of(found) if viewer.sees_person(p)]
    teams = [{"name": t.name, "url": links.team_path(t.org.login, t.slug, today)}
             for t in Team.select(Team, Org).join(Org).where(Org.client == found)
             .order_by(Team.slug) if viewer.sees_team(t)]
    return render_template("web/client.html.j2", client=found, filters=filters,
                           rows=[views.row(s, now) for s in rows[:PAGE_ROWS]],
                           more=len(rows) > PAGE_ROWS, developers=developers, teams=teams,
                           hr_queue=viewer.hr_of(found.id),
                           export_path=links.client_path(found.slug))


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(404, description=f"{value[:40]!r} is not a date; team pages are "
                               "/teams/<org>/<team>/YYYY-MM-DD.")


@bp.get("/teams/<org>/<slug>/<day>")
@signed_in
def team_day(org: str, slug: str, day: str):
    viewer, on = auth.viewer(), _day(day)
    team = (Team.select(Team, Org).join(Org)
            .where((Org.login == org) & (Team.slug == slug)).first())
    require(team is not None and viewer.sees_team(team))
    entries = context.team_members(team, on)
    for entry in entries:
        member = Person.get_or_none(Person.email == entry["email"])
        entry["url"] = links.person_path(entry["email"]) \
            if member is not None and viewer.sees_person(member) else None
    members = [m.person for m in Membership.select().where(Membership.team == team)]
    today = min(on, state.now().date())
    team_sups = _recent(Sup.select().where((Sup.client == team.org.client_id)
                                           & Sup.developer.in_([m.id for m in members])), today)
    chart, totals = _chart(team_sups, today, f"{team.name}: SUPs of the last 8 weeks")
    # Each member's own figures only for who may open that member's page (not teammates).
    per_member = [{"name": m.name, "url": links.person_path(m.email),
                   "totals": participation.totals(participation.weekly(
                       [s for s in team_sups if s.developer_id == m.id], today, state.now()))}
                  for m in sorted(members, key=lambda p: p.name) if viewer.sees_person(m)]
    return render_template(
        "web/team.html.j2", team=team, client=team.org.client, day=on,
        day_long=context.day_long(on), entries=entries,
        missing=[e["name"] for e in entries if e["state"] == "open"],
        previous_url=links.team_path(org, slug, on - timedelta(days=1)),
        next_url=links.team_path(org, slug, on + timedelta(days=1)),
        chart=chart, totals=totals, per_member=per_member,
        client_link=viewer.sees_client(team.org.client))
