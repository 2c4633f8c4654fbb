"""``/sups/<id>/answer``: the SUP form, read exactly as an email reply is.

The posted fields become the short form a developer could have mailed
(``form_reply``), and that text goes through the same ``parse_reply`` and
``sup.submit`` as a reply to the SUP mail, so the form has the mail's fields,
validation and outcomes (submitted, replaced before review, an amendment after
it) by construction.
An applied answer is stored like mail (an inbound row, source ``web``) before
its effects, so it has an id for the amendment and the escalation it causes.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime

from flask import Blueprint, abort, g, redirect, render_template, request
from werkzeug.datastructures import MultiDict

from mailsup import sup as sups
from mailsup import tokens
from mailsup.clock import utcnow_naive
from mailsup.directory import repos_of
from mailsup.inbound.reading.sup_reply import parse_reply
from mailsup.inbound.store import content_hash
from mailsup.models import SCHEDULING_VALUES, Effect, InboundMessage, Keys, Sup, db
from mailsup.outbound import compose, context
from mailsup.web import auth, state, views
from mailsup.web.form_reply import (
    MAX_FIELD,
    current_values,
    reply_text,
    ticket_marks,
    too_long,
)
from mailsup.web.sups import get_sup

bp = Blueprint("answer", __name__)



class Refused(Exception):
    """A request that gets an explaining page instead of the form."""

    def __init__(self, status: int, reason: str, sup: Sup):
        super().__init__(reason)
        self.status, self.reason, self.sup = status, reason, sup


def _gate(sup: Sup):
    """``session`` (the developer) or ``link`` (the mail's ``t``); else a redirect or 404."""
    mode = _mode(sup)
    if isinstance(mode, str) and sup.status == "skipped":
        raise Refused(409, "skipped", sup)
    return mode


def _mode(sup: Sup):
    viewer = g.viewer
    if viewer is not None and viewer.person.id == sup.developer_id:
        return "session"
    token = request.args.get("t")
    if token:
        if not tokens.answer_token_ok(state.settings().secret, sup.id, token):
            abort(404)
        if sup.status == "reviewed":
            raise Refused(410, "reviewed_link", sup)
        return "link"
    if viewer is None:
        return redirect(auth.login_url())
    abort(404)


def _tickets(sup: Sup) -> list[dict]:
    return [t | {"field": f"ticket-{t['repo']}-{t['number']}"}
            for t in context.assigned_tickets(sup.footprint)]


def _comment_repos(sup: Sup) -> list[str]:
    shown = [r["name"] for r in context.footprint_repos(sup.footprint)]
    return list(dict.fromkeys(shown + sorted((sup.repo_comments or {}).keys())))


def _sent_text(sup: Sup) -> str:
    request_row = sups.request_message(sup)
    return request_row.text_body if request_row else sups.render_request(sup).text


def _store(sup: Sup, text: str) -> InboundMessage:
    """The answer as an inbound row, like mail: kept before its effects, with an id."""
    settings, now = state.settings(), state.now()
    msg = EmailMessage()
    msg["From"], msg["To"] = sup.developer.email, sups.reply_to(settings, sup)
    msg["Subject"] = f"[{sup.reference}] answered in the browser"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = compose.new_message_id(compose.domain_of(settings.reply_address))
    msg["X-Mailsup-Source"] = f"web form from {request.remote_addr or 'unknown'}"
    msg.set_content(text)
    raw = msg.as_bytes()
    stamp = utcnow_naive(now)
    return InboundMessage.create(
        received_at=stamp, source="web", message_id=msg["Message-ID"],
        content_hash=content_hash(raw), envelope_from=sup.developer.email, raw=raw,
        status="applied", kind="sup_reply", sup=sup, processed_at=stamp)


def _render_form(sup: Sup, mode: str, values: MultiDict, problems=(), unread=(),
                 notice: str | None = None, status: int = 200):
    return render_template(
        "web/answer.html.j2", sup=views.detail(sup, state.now()), mode=mode, values=values,
        tickets=_tickets(sup), comment_repos=_comment_repos(sup),
        scheduling_values=SCHEDULING_VALUES, problems=list(problems), unread=list(unread),
        notice=notice, amendment=sup.status == "reviewed"), status


def _refusal(exc: Refused):
    return render_template("web/answer_refused.html.j2", reason=exc.reason,
                           sup=views.detail(exc.sup, state.now()),
                           login_next=f"/sups/{exc.sup.id}/answer"), exc.status


@bp.get("/sups/<int:sup_id>/answer")
def form(sup_id: int):
    sup = get_sup(sup_id)
    try:
        mode = _gate(sup)
    except Refused as exc:
        return _refusal(exc)
    if not isinstance(mode, str):
        return mode
    return _render_form(sup, mode, current_values(sup))


@bp.post("/sups/<int:sup_id>/answer")
def submit(sup_id: int):
    sup = get_sup(sup_id)
    try:
        mode = _gate(sup)
    except Refused as exc:
        return _refusal(exc)
    if not isinstance(mode, str):
        return mode
    posted = request.form.copy()
    posted.pop("csrf_token", None)
    field = too_long(posted)
    if field:
        abort(413, description=f"The field {field[:40]!r} is longer than {MAX_FIELD:,} "
                               "characters. Nothing was recorded; shorten it and send again.")
    if posted.get("seen") in ("open", "submitted", "missed") and sup.status == "reviewed":
        return _render_form(sup, mode, posted, notice="reviewed_meanwhile", status=409)
    return _apply(sup, mode, posted)


def _apply(sup: Sup, mode: str, posted: MultiDict):
    done, working, form_problems = ticket_marks(posted)
    text = reply_text(posted, done, working)
    parsed = parse_reply(text, _sent_text(sup), context.assigned_tickets(sup.footprint),
                         repos_of(sup.client))
    # The reader decides what a reply needs (``ok``), exactly as for mail; only a
    # field this form could not turn into reply text is the form's own refusal.
    if form_problems or not parsed.ok:
        return _render_form(sup, mode, posted, form_problems + parsed.problems, parsed.unread,
                            status=422)
    settings, now = state.settings(), state.now()
    with db.atomic():
        row = _store(sup, text)
        # As for mail: only blockers that were not escalated for this SUP before.
        blockers = sups.blockers_to_escalate(sup, parsed.as_fields())
        outcome = sups.submit(settings, sup, parsed.as_fields(), now, row.id)
        row.reasons = [f"{sup.reference} {outcome} (answered in the browser)"]
        row.save()
        Effect.create(key=Keys.applied(row.id), kind="applied", created_at=row.processed_at)
        escalated = sups.escalate(settings, sup, blockers, now, row.id) if blockers else None
    if escalated is not None:
        state.send_soon()
    return render_template("web/answer_done.html.j2", sup=views.detail(sup, now),
                           outcome=outcome, fields=parsed.as_fields(),
                           unread=parsed.problems + parsed.unread,
                           escalated_to=sups.escalation_recipients(sup) if parsed.blockers
                           else [], mode=mode, tickets=context.tickets(sup))
