"""The Flask app factory: blueprints, sessions, CSRF, security headers, error pages.

``create_app(settings, clock)`` is what ``mailsup run``, ``mailsup web``, the
demo and the tests serve. Server-rendered HTML that works without
JavaScript; a CSP that allows no script at all; every change is a POST with a
CSRF token; every error is a page that says what to do, never a traceback.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from flask import Flask, g, render_template, request
from jinja2 import StrictUndefined
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from mailsup.clock import utc_now
from mailsup.config import Settings
from mailsup.models import db
from mailsup.outbound.compose import safe_value
from mailsup.tokens import derive_key
from mailsup.web import (
    answer,
    auth,
    csrf,
    health,
    hr,
    ops,
    people,
    sign_in,
    state,
    sups,
)

log = logging.getLogger(__name__)

PACKAGE = Path(__file__).resolve().parent.parent
MAX_FORM_BYTES = 256 * 1024  # a SUP answer is a few KB; a 1 MB post is refused with 413
BLUEPRINTS = (sign_in.bp, sups.bp, answer.bp, people.bp, hr.bp, ops.bp, health.bp)

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


class _App(Flask):
    # Templates are .html.j2: escape every one of them, and fail loudly on a typo.
    # finalize: a person's text never carries bidi overrides or controls into a page.
    jinja_options = {"undefined": StrictUndefined, "trim_blocks": True, "lstrip_blocks": True,
                     "finalize": safe_value}

    def select_jinja_autoescape(self, filename: str) -> bool:
        return True


def create_app(settings: Settings, clock: state.Clock = utc_now,
               send_soon=None) -> Flask:
    app = _App("mailsup.web", template_folder=str(PACKAGE / "templates"),
               static_folder=str(Path(__file__).parent / "static"), static_url_path="/static")
    app.config.update(
        SECRET_KEY=derive_key(settings.secret, "session").hex(),
        SESSION_COOKIE_NAME="mailsup_session", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=settings.web.secure,
        PERMANENT_SESSION_LIFETIME=timedelta(days=settings.web.session_days),
        MAX_CONTENT_LENGTH=MAX_FORM_BYTES, MAX_FORM_MEMORY_SIZE=MAX_FORM_BYTES,
    )
    app.extensions["mailsup"] = state.WebState(
        settings, clock, send_soon or state.background_flush(settings, clock))
    if settings.web.proxy_hops:
        hops = settings.web.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)
    app.jinja_env.globals.update(csrf_field=csrf.field, viewer=lambda: g.get("viewer"))
    app.jinja_env.filters["when"] = when
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.before_request(_open_database)
    app.before_request(auth.load_viewer)
    app.before_request(csrf.check)
    app.after_request(_headers)
    app.teardown_request(_close_database)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    return app


def when(value) -> str:
    """A stored instant as people read it: ``2026-11-25 06:30 UTC``."""
    if not value:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return f"{text[:10]} {text[11:16]} UTC" if len(text) >= 16 and text[10] == "T" else text


def _open_database() -> None:
    db.connect(reuse_if_open=True)


def _close_database(_exc) -> None:
    if not db.is_closed():
        db.close()


def _headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")  # the answer link's t stays ours
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Permissions-Policy", "interest-cohort=()")
    if request.path != "/metrics" and not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")
    if state.settings().web.secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


TITLES = {400: "That request could not be used", 404: "Not found",
          405: "Not allowed here", 410: "This link no longer works",
          413: "Too large", 500: "Something went wrong on our side"}


def _http_error(exc: HTTPException):
    code = exc.code or 500
    default = exc.description == type(exc).description
    if code == 404 and default:
        # The same words for "does not exist" and "not yours": a 404 tells nothing.
        description = ("There is no such page, or it is not one your role may open. "
                       "Check the address, or start from your SUPs.")
    elif code == 413 and default:
        description = (f"That form is larger than {MAX_FORM_BYTES // 1024} KB. Nothing was "
                       "recorded; shorten it and send it again.")
    else:
        description = exc.description
    return render_template("web/error.html.j2", code=code,
                           title=TITLES.get(code, exc.name), description=description), code


def _unexpected(exc: Exception):
    log.exception("page %s %s failed", request.method, request.path)
    return render_template("web/error.html.j2", code=500, title=TITLES[500],
                           description="The error is in the operator's log. If you sent a "
                                       "form, open the page again to see what was kept "
                                       "before sending it again."), 500
