"""``/ops``: the operator's page for ``[mailsup] management``.

The outbox (what waits, what failed, with a retry), quarantined inbound mail
(with a retry through the pipeline, as ``mailsup inbound retry``), answers
held back by loop protection, and the last ticks. Every retry is a POST.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from peewee import fn

from mailsup.clock import stamp, utcnow_naive
from mailsup.inbound import runner
from mailsup.models import Effect, InboundMessage, OutboundMessage, TickRun
from mailsup.web import auth, state
from mailsup.web.auth import require, signed_in
from mailsup.web.sups import MAX_ID

bp = Blueprint("ops", __name__)

SHOWN = 50


def _outbox() -> dict:
    counts = dict(OutboundMessage.select(OutboundMessage.status, fn.COUNT(OutboundMessage.id))
                  .group_by(OutboundMessage.status).tuples())
    rows = (OutboundMessage.select().where(OutboundMessage.status != "sent")
            .order_by(OutboundMessage.id.desc()).limit(SHOWN))
    return {"counts": counts, "rows": [{
        "id": r.id, "kind": r.kind, "to": ", ".join(r.recipients or []), "subject": r.subject,
        "status": r.status, "attempts": r.attempts, "created_at": stamp(r.created_at),
        "next_attempt_at": stamp(r.next_attempt_at), "error": (r.last_error or "")[:300],
        "retry": r.status in ("failed", "pending")} for r in rows]}


def _quarantined() -> list[dict]:
    rows = (InboundMessage.select(InboundMessage.id, InboundMessage.received_at,
                                  InboundMessage.source, InboundMessage.envelope_from,
                                  InboundMessage.reasons)
            .where(InboundMessage.status == "quarantined")
            .order_by(InboundMessage.id.desc()).limit(SHOWN))
    return [{"id": r.id, "received_at": stamp(r.received_at), "source": r.source,
             "from": r.envelope_from or "", "reasons": "; ".join(r.reasons or [])[:300]}
            for r in rows]


def _suppressed() -> list[dict]:
    rows = (Effect.select().where(Effect.kind == "suppressed")
            .order_by(Effect.id.desc()).limit(SHOWN))
    return [{"at": stamp(r.created_at), "to": r.data.get("to", ""),
             "answer": r.data.get("answer", ""), "inbound": r.data.get("inbound")}
            for r in rows]


def _ticks() -> list[dict]:
    rows = TickRun.select().order_by(TickRun.id.desc()).limit(20)
    return [{"started_at": stamp(r.started_at), "now": stamp(r.now), "ms": r.duration_ms,
             "jobs": ", ".join(f"{k}={v}" for k, v in (r.jobs or {}).items() if v) or "nothing due",
             "errors": "; ".join(f"{k}: {v}" for k, v in (r.errors or {}).items()),
             "sent": r.sent, "failed": r.failed} for r in rows]


@bp.get("/ops")
@signed_in
def page():
    require(auth.viewer().management)
    return render_template("web/ops.html.j2", outbox=_outbox(), quarantined=_quarantined(),
                           suppressed=_suppressed(), ticks=_ticks())


@bp.post("/ops/outbox/<int:row_id>/retry")
@signed_in
def retry_outbox(row_id: int):
    require(auth.viewer().management and row_id <= MAX_ID)
    # Conditional: a row being sent right now (or sent meanwhile) is left alone.
    changed = (OutboundMessage.update(status="pending",
                                      next_attempt_at=utcnow_naive(state.now()))
               .where((OutboundMessage.id == row_id)
                      & OutboundMessage.status.in_(("failed", "pending"))).execute())
    if changed:
        flash(f"outbox {row_id}: queued again; it is being sent now", "done")
        state.send_soon()
    else:
        flash(f"outbox {row_id}: nothing to retry (sent, being sent, or no such row)", "error")
    return redirect(url_for("ops.page"))


@bp.post("/ops/inbound/<int:row_id>/retry")
@signed_in
def retry_inbound(row_id: int):
    require(auth.viewer().management and row_id <= MAX_ID)
    row = InboundMessage.get_or_none(InboundMessage.id == row_id)
    if row is None or row.status != "quarantined":
        flash(f"inbound {row_id}: not quarantined, nothing to retry", "error")
        return redirect(url_for("ops.page"))
    ctx = runner.retry(state.settings(), row, state.now())
    flash(f"inbound {row_id}: {ctx.status} ({ctx.kind}) {'; '.join(ctx.reasons)}"[:500], "done")
    state.send_soon()
    return redirect(url_for("ops.page"))
