"""Who is signed in: the signed session cookie, and the guard of every page.

The session is Flask's signed cookie (HMAC with a key derived from
``[mailsup] secret``), HttpOnly, SameSite=Lax, Secure behind TLS, so any
``mailsup run`` worker that shares the secret accepts it: pages are
stateless. It holds the person's primary email; the roles are read from the
directory on every request, so a change there takes effect at once.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app, g, redirect, request, session, url_for

from mailsup.models import Person
from mailsup.web import csrf
from mailsup.web.roles import Viewer


def load_viewer() -> None:
    """``before_request``: ``g.viewer`` is the signed-in person's roles, or None."""
    g.viewer = None
    email = session.get("person")
    if isinstance(email, str):
        person = Person.get_or_none(Person.email == email)
        if person is not None:
            g.viewer = Viewer.of(person, current_app.extensions["mailsup"].settings)


def sign_in_as(person: Person) -> None:
    session.clear()
    session["person"] = person.email
    session.permanent = True
    csrf.renew()


def sign_out() -> None:
    session.clear()
    csrf.renew()


def viewer() -> Viewer:
    """The signed-in viewer of a page that ``signed_in`` guards."""
    return g.viewer


def login_url() -> str:
    """Sign-in, then back to the page asked for (path and query only: never off-site)."""
    target = request.full_path if request.query_string else request.path
    return url_for("sign_in.login", next=target)


def signed_in(view: Callable) -> Callable:
    """Pages for signed-in people: others go to sign-in and then come back."""
    @wraps(view)
    def guarded(*args, **kwargs):
        if g.viewer is None:
            return redirect(login_url())
        return view(*args, **kwargs)
    return guarded


def require(allowed: bool) -> None:
    """A page outside the viewer's role does not exist for them."""
    if not allowed:
        abort(404)
