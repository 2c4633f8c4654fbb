"""The answer form's fields → the short-form reply a developer could have mailed.

``plan: …``, ``scheduling: …``, ``done: acme/api#130``, ``working: …``,
``comment acme/api: …``, ``comment: …``, ``blockers: …``: the text the form
stands for, which ``answer`` then reads with the mail's own parser. Field
names are a contract (outside scripts post to the form): ``plan``,
``scheduling``, ``blockers``, ``comment``, ``comment-<repo>``, and per ticket
``ticket-<repo>-<number>`` with ``done``, ``working`` or empty.
"""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from mailsup.models import Sup

MAX_FIELD = 20_000  # characters in one field; the whole form is capped by the app
TICKET_VALUES = ("done", "working", "")


def current_values(sup: Sup) -> MultiDict:
    """The form pre-filled with what the SUP holds, so a change starts from it."""
    values = MultiDict({"plan": sup.plan or "", "scheduling": sup.scheduling or "",
                        "blockers": sup.blockers or "",
                        "comment": getattr(sup, "comment", None) or ""})
    for repo, text in (sup.repo_comments or {}).items():
        values[f"comment-{repo}"] = text
    for t in sup.planned_tickets or []:
        values[f"ticket-{t['repo']}-{t['number']}"] = "done" if t.get("expect_done") else \
            "working"
    return values


def _lines(key: str, text: str) -> list[str]:
    body = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return [f"{key}: {body[0]}", *body[1:]] if body else []


def ticket_marks(form: MultiDict) -> tuple[list[str], list[str], list[str]]:
    """(done refs, working refs, problems) from the ``ticket-<repo>-<number>`` fields."""
    done, working, problems = [], [], []
    for name in form:
        if not name.startswith("ticket-"):
            continue
        repo, _, number = name[len("ticket-"):].rpartition("-")
        value = (form.get(name) or "").strip().lower()
        if not repo or not number.isdigit():
            problems.append(f'"{name[:80]}" is not a ticket field; use ticket-<repo>-<number>')
        elif value not in TICKET_VALUES:
            problems.append(f"{name[:80]}: {value[:20]!r} must be done, working or empty")
        elif value:
            (done if value == "done" else working).append(f"{repo}#{number}")
    return done, working, problems


def reply_text(form: MultiDict, done: list[str], working: list[str]) -> str:
    """The short-form reply the form stands for."""
    lines = _lines("plan", form.get("plan", ""))
    if (form.get("scheduling") or "").strip():
        lines.append(f"scheduling: {form.get('scheduling').strip().splitlines()[0]}")
    if done:
        lines.append("done: " + ", ".join(done))
    if working:
        lines.append("working: " + ", ".join(working))
    for name in form:
        if name.startswith("comment-"):
            lines += _lines(f"comment {name[len('comment-'):]}", form.get(name, ""))
    lines += _lines("comment", form.get("comment", ""))
    if "blockers" in form:  # an emptied field says "no blockers", it does not keep the old
        lines += _lines("blockers", form.get("blockers", "")) or ["blockers: none"]
    return "\n".join(lines) + "\n"


def too_long(form: MultiDict) -> str | None:
    for name, value in form.items(multi=True):
        if len(value) > MAX_FIELD:
            return name
    return None
