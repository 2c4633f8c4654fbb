"""Sign-in by email (design §12): ``/login``, the one-time link, ``/logout``.

``POST /login`` answers the same page whatever the address, so it tells
nobody who is in the directory; for a person in it, a one-time link is queued
through the outbox (15 minutes, used once, only its SHA-256 stored). Sign-in
mails are limited per address and per client IP each hour, with the same
page either way, so ``/login`` cannot flood an inbox. Opening the link shows
a button that signs in (a POST): mail scanners that fetch links do not use
it up.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta

from flask import Blueprint, g, redirect, render_template, request, url_for

from mailsup.clock import utcnow_naive
from mailsup.directory import person_by_address
from mailsup.models import Keys, Person, SignInToken, db
from mailsup.outbound import compose, messages, outbox
from mailsup.outbound.links import Links
from mailsup.tokens import SIGN_IN_MINUTES, hash_token
from mailsup.web import auth, state

log = logging.getLogger(__name__)

bp = Blueprint("sign_in", __name__)

_EMAIL = re.compile(r"^[^@\s<>\"(),;]+@[^@\s<>\"(),;]+\.[^@\s<>\"(),;]+$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,80}$")


def safe_next(value: str | None) -> str | None:
    """A path on this site to return to after sign-in; anything else is dropped."""
    if not value or len(value) > 500 or not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or any(ord(c) < 32 for c in value):
        return None
    return value


def _page(**values):
    return render_template("web/login.html.j2", **({"next": None, "sent": False, "address": "",
                                                    "signed_out": False, "error": None}
                                                   | values))


@bp.get("/login")
def login():
    return _page(next=safe_next(request.args.get("next")),
                 signed_out=request.args.get("signed_out") == "1")


@bp.post("/login")
def request_link():
    address = (request.form.get("email") or "").strip().lower()[:320]
    next_path = safe_next(request.form.get("next"))
    if not _EMAIL.match(address):
        return _page(next=next_path, address=address[:100],
                     error="That is not an email address; write it as name@example.com."), 400
    person = person_by_address(address)
    if person is not None:
        queue_link(person, address, next_path, request.remote_addr)
    # The same page for everyone: whether the address is known stays unsaid.
    return _page(next=next_path, sent=True, address=address)


def _recent(condition) -> int:
    hour_ago = utcnow_naive(state.now()) - timedelta(hours=1)
    return SignInToken.select().where(condition & (SignInToken.created_at > hour_ago)).count()


def queue_link(person: Person, address: str, next_path: str | None, ip: str | None) -> bool:
    """Queue a sign-in mail unless this address or IP had its share this hour."""
    web = state.settings().web
    if _recent(SignInToken.person == person) >= web.sign_in_mails_per_address or \
            (ip and _recent(SignInToken.client_ip == ip) >= web.sign_in_mails_per_ip):
        log.warning("sign-in mail to %s (from %s) not sent: hourly limit reached", address, ip)
        return False
    settings, now = state.settings(), state.now()
    token, stamp = secrets.token_urlsafe(32), utcnow_naive(now)
    with db.atomic():
        row = SignInToken.create(person=person, token_hash=hash_token(token), address=address,
                                 client_ip=ip, next_path=next_path, created_at=stamp,
                                 expires_at=stamp + timedelta(minutes=SIGN_IN_MINUTES))
        rendered = compose.render(messages.sign_in(person, Links.of(settings).sign_in(token),
                                                   SIGN_IN_MINUTES))
        outbox.enqueue(settings, key=Keys.sign_in(row.id), kind="sign_in", to=[address],
                       rendered=rendered, now=now)
    state.send_soon()
    return True


def _usable(token: str) -> SignInToken | None:
    if not _TOKEN.match(token):
        return None
    row = SignInToken.get_or_none(SignInToken.token_hash == hash_token(token))
    if row is None or row.used_at is not None or row.expires_at <= utcnow_naive(state.now()):
        return None
    return row


def _refused():
    return render_template("web/link_refused.html.j2"), 410


@bp.get("/login/<token>")
def confirm(token: str):
    row = _usable(token)
    if row is None:
        return _refused()
    return render_template("web/login_confirm.html.j2", person=row.person, token=token)


@bp.post("/login/<token>")
def use_link(token: str):
    row = _usable(token)
    if row is None:
        return _refused()
    # Conditional: of two clicks (or two workers) exactly one uses the link.
    taken = (SignInToken.update(used_at=utcnow_naive(state.now()))
             .where((SignInToken.id == row.id) & SignInToken.used_at.is_null()).execute())
    if taken != 1:
        return _refused()
    auth.sign_in_as(row.person)
    log.info("%s signed in", row.person.email)
    return redirect(safe_next(row.next_path) or url_for("sups.home"))


@bp.post("/logout")
def logout():
    if g.viewer is not None:
        log.info("%s signed out", g.viewer.person.email)
    auth.sign_out()
    return redirect(url_for("sign_in.login", signed_out="1"))
