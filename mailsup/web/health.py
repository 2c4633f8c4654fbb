"""``/healthz`` for load balancers, ``/metrics`` for Prometheus; no sign-in for either.

Neither shows anything about a person: only whether the database answers, and
counts.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from peewee import DatabaseError, InterfaceError
from prometheus_client import CONTENT_TYPE_LATEST

from mailsup.models import db
from mailsup.web import metrics

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.execute_sql("SELECT 1")
    except (DatabaseError, InterfaceError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return jsonify(status="error", database=first[:200]), 503
    return jsonify(status="ok", database="ok")


@bp.get("/metrics")
def prometheus():
    return Response(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
