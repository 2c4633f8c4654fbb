"""A CSRF token on every form; every POST without the right one is refused.

The token is random per session (kept in the signed session cookie, which
anonymous visitors of ``/login`` and of a signed answer link get too), and a
form carries it in ``csrf_token``. A POST whose token is missing or wrong is
answered 400 with a page that says what to do, before any view runs, so it
changes nothing.
"""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session
from markupsafe import Markup, escape

FIELD = "csrf_token"


def token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def renew() -> None:
    """A new token at sign-in and sign-out: one from before cannot be replayed."""
    session["csrf"] = secrets.token_urlsafe(24)


def field() -> Markup:
    return Markup(f'<input type="hidden" name="{FIELD}" value="{escape(token())}">')


def check() -> None:
    """``before_request``: refuse a POST that does not carry this session's token."""
    if request.method != "POST":
        return
    sent = request.form.get(FIELD, "")
    expected = session.get("csrf", "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        abort(400, description="This form was not sent from mailsup's own page, or it has "
                               "expired (for example after signing out). Nothing was changed: "
                               "go back, reload the page and send it again.")
