"""``mailsup sup list|show``: the operator's (management's) view of SUPs.

JSON for scripts, text for people.

This is the one place that shows HR-only fields, because the CLI is run by
the operator; nothing here is ever mailed to a developer or a team.
"""

from __future__ import annotations

import sys

from mailsup import sup as sups
from mailsup.cli.common import (
    open_settings,
    parse_day,
    print_json,
    resolve_client,
    resolve_developer,
)
from mailsup.clock import stamp
from mailsup.errors import UserError
from mailsup.models import SUP_STATUSES, Sup


def sup_as_dict(sup: Sup, *, footprint: bool = True) -> dict:
    previous_id, next_id = sups.neighbours(sup)
    data = {
        "id": sup.id,
        "developer": sup.developer.email,
        "client": sup.client.slug,
        "day": stamp(sup.day),
        "status": sup.status,
        "late": bool(sup.late),
        "skip_reason": sup.skip_reason,
        "away": sup.away,
        "created_at": stamp(sup.created_at),
        "due_at": stamp(sup.due_at),
        "nag_at": stamp(sup.nag_at),
        "submitted_at": stamp(sup.submitted_at),
        "window_start": stamp(sup.window_start),
        "window_end": stamp(sup.window_end),
        "scheduling": sup.scheduling,
        "scheduling_note": sup.scheduling_note,
        "plan": sup.plan,
        "blockers": sup.blockers,
        "previous_plan": sup.previous_plan,
        "planned_tickets": sup.planned_tickets or [],
        "repo_comments": sup.repo_comments or {},
        "comment": sup.comment,
        "draft": sup.draft,
        "amendments": sup.amendments or [],
        "previous_id": previous_id,
        "next_id": next_id,
        "hr_notes": sup.hr_notes or [],
        "flags": sup.flags or [],
        "reviewed_at": stamp(sup.reviewed_at),
        "reviewed_by": sup.reviewed_by.email if sup.reviewed_by_id else None,
    }
    if footprint:
        data["footprint"] = sup.footprint
        data["footprint_note"] = sup.footprint_note
    return data


SUP_LIST_HEADER = (f"{'id':>6}  {'day':<10}  {'client':<12} {'developer':<28} {'status':<9} "
                   "plan")


def sup_line(sup: Sup) -> str:
    plan = (sup.plan or "").splitlines()[0][:50] if sup.plan else ""
    marks = "".join(m for m, on in (("(late) ", sup.late), ("(away) ", sup.away)) if on)
    return (f"{sup.id:>6}  {sup.day}  {sup.client.slug:<12} {sup.developer.email:<28} "
            f"{sup.status:<9} {marks}{plan}")


def sup_text(sup: Sup) -> str:
    data = sup_as_dict(sup)
    lines = [f"{sup.reference}: {data['developer']} for {data['client']} on {data['day']}"
             f" [{data['status']}{', late' if data['late'] else ''}]"]
    for key in ("skip_reason", "created_at", "submitted_at", "window_start", "window_end",
                "scheduling", "scheduling_note", "plan", "blockers", "previous_plan",
                "planned_tickets", "repo_comments", "comment", "draft", "footprint_note",
                "amendments", "hr_notes", "flags", "reviewed_by", "reviewed_at", "previous_id",
                "next_id"):
        value = data.get(key)
        if value in (None, [], {}, ""):
            continue
        items = _readable(key, value)
        if len(items) == 1 and "\n" not in items[0]:
            lines.append(f"  {key}: {items[0]}")
        else:
            lines.append(f"  {key}:")
            lines.extend(f"    {line}" for item in items for line in item.splitlines())
    return "\n".join(lines)


def _readable(key: str, value) -> list[str]:
    """One line per item, in words rather than Python reprs."""
    if key == "planned_tickets":
        return [f"{t['repo']}#{t['number']} {t.get('title', '')} "
                f"({'expect done' if t.get('expect_done') else 'working on it'})" for t in value]
    if key == "repo_comments":
        return [f"{repo}: {text}" for repo, text in value.items()]
    if key == "hr_notes":
        return [f"{n.get('at', '')} {n.get('by', '')}: {n.get('text', '')}" for n in value]
    if key == "flags":
        return [f"{f.get('at', '')} {f.get('by', '')}: {f.get('reason', '')}" for f in value]
    if key == "draft":
        return [f"from inbound {value.get('inbound')} (a reply without a plan): "
                + ", ".join(k for k, v in (value.get("fields") or {}).items() if v)]
    if key == "amendments":
        return [f"{a.get('at', '')}: plan: {a.get('fields', {}).get('plan', '')}" for a in value]
    return [str(value)]


def cmd_list(args) -> int:
    open_settings(args)
    developer = resolve_developer(args.developer)
    if args.client:
        resolve_client(args.client)
    rows = list(sups.select_sups(args.client, developer, args.status,
                                   parse_day(args.since, "--since"),
                                   parse_day(args.until, "--until")))
    if not rows and not args.json:
        print("no SUPs match", file=sys.stderr)
    if args.json:
        print_json([sup_as_dict(s, footprint=False) for s in rows])
    elif rows:
        print(SUP_LIST_HEADER)
        for sup in rows:
            print(sup_line(sup))
    return 0


def cmd_show(args) -> int:
    open_settings(args)
    sup = Sup.get_or_none(Sup.id == args.id)
    if sup is None:
        raise UserError(f"no SUP with id {args.id}; see `mailsup sup list`")
    if args.json:
        print_json(sup_as_dict(sup))
    else:
        print(sup_text(sup))
    return 0


def add_commands(sub) -> None:
    sup_parser = sub.add_parser("sup", help="list and show SUPs")
    sup_sub = sup_parser.add_subparsers(dest="sup_command", required=True)
    listing = sup_sub.add_parser("list", help="SUPs, filtered")
    listing.add_argument("--client")
    listing.add_argument("--developer")
    listing.add_argument("--status", choices=list(SUP_STATUSES))
    listing.add_argument("--since", help="first day, YYYY-MM-DD")
    listing.add_argument("--until", help="last day, YYYY-MM-DD")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)
    show = sup_sub.add_parser("show", help="one SUP with previous/next ids")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)
