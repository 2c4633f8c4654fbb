"""Every SUP list as .csv and .json, with the filters of its page.

The same rows as the page, built by ``views.record`` (fields anyone who sees
the SUP may see) plus ``hr_context.hr_record`` for the rows whose client the
viewer is HR of. CSV cells that a spreadsheet would run as a formula are
prefixed with ``'``, so a plan starting with ``=`` stays text.
"""

from __future__ import annotations

import csv
import io
import json

from flask import Response

from mailsup.models import Sup
from mailsup.outbound import hr_context
from mailsup.web import state, views
from mailsup.web.roles import Viewer

COLUMNS = ("id", "day", "developer", "client", "status", "participation", "scheduling",
           "plan", "blockers", "planned_tickets", "repo_comments", "submitted_at",
           "skip_reason", "amendments")
HR_COLUMNS = ("reviewed_at", "reviewed_by", "flags", "hr_notes")


def records(rows: list[Sup], viewer: Viewer) -> list[dict]:
    now = state.now()
    return [views.record(sup, now) | (hr_context.hr_record(sup) if viewer.hr_of(sup.client_id)
                                       else {}) for sup in rows]


def respond(rows: list[Sup], fmt: str, name: str, viewer: Viewer) -> Response:
    data = records(rows, viewer)
    if fmt == "json":
        return Response(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n",
                        mimetype="application/json")
    columns = COLUMNS + (HR_COLUMNS if viewer.is_hr else ())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for record in data:
        writer.writerow([_cell(column, record.get(column)) for column in columns])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}.csv"'})


def _cell(column: str, value) -> str:
    if value is None:
        return ""
    if column == "planned_tickets":
        value = "; ".join(f"{t['repo']}#{t['number']} "
                          f"({'expect done' if t.get('expect_done') else 'working on it'})"
                          for t in value)
    elif column == "repo_comments":
        value = "; ".join(f"{repo}: {text}" for repo, text in value.items())
    elif column == "amendments":
        value = str(len(value))
    elif column == "hr_notes":
        value = "; ".join(f"{n.get('at', '')} {n.get('by', '')}: {n.get('text', '')}"
                          for n in value)
    elif column == "flags":
        value = "; ".join(f.get("reason", "") for f in value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
