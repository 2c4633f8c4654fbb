"""The pages' test world: two clients, every role, SUPs over several days; a test-client browser.

The SUPs are made the real way: ticks create them and queue their mail, and
replies built from the queued mail go through the inbound pipeline. HR-only
fields are written by ``mailsup.review``, as HR's commands do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

from mailsup import review
from mailsup.inbound import runner
from mailsup.inbound.store import store_raw
from mailsup.jobs.tick import tick
from mailsup.models import Keys, OutboundMessage, Person, Sup
from mailsup.testing import at
from mailsup.testing.replies import make_reply
from tests.support.helpers import load_directory

EVERY_DAY = 'workdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]'
PEOPLE = {
    "alice": ("alice@example.com", "Alice Smith", "Europe/Berlin"),
    "bob": ("bob@example.com", "Bob Jones", "Europe/Berlin"),
    "carol": ("carol@example.com", "Carol Chen", "Europe/Berlin"),
    "dan": ("dan@example.com", "Dan Delivery", "Europe/London"),
    "hana": ("hana@example.com", "Hana HR", "Europe/Berlin"),
    "gus": ("gus@example.com", "Gus Globex-HR", "Europe/Berlin"),
    "boss": ("boss@example.com", "Bo Management", "Europe/Berlin"),
}
MANAGEMENT = "management = boss@example.com"
DIRECTORY = "".join(f"""
[[people]]
email = "{email}"
name = "{name}"
timezone = "{tz}"
{EVERY_DAY}
""" for email, name, tz in PEOPLE.values()) + """
[[clients]]
slug = "acme"
name = "Acme Corp"
orgs = ["acme"]
hr = "hana@example.com"
delivery_managers = ["dan@example.com"]

[[clients]]
slug = "globex"
name = "Globex"
orgs = ["globex"]
hr = "gus@example.com"

[[teams]]
org = "acme"
slug = "platform"
name = "Platform"
members = ["alice@example.com", "bob@example.com"]
delivery_manager = "dan@example.com"

[[teams]]
org = "globex"
slug = "mobile"
name = "Mobile"
members = ["carol@example.com"]

[[repos]]
org = "acme"
name = "api"

[[repos]]
org = "acme"
name = "web"

[[repos]]
org = "globex"
name = "app"
"""
FIRST_DAY = at("2026-11-23T05:30")  # Monday 06:30 in Berlin
ASSIGNED = [{"repo": "acme/api", "number": 130, "title": "Orders endpoint"},
            {"repo": "acme/web", "number": 45, "title": "Dark mode"}]
HR_NOTE, HR_FLAG = "HR-ONLY-NOTE-TEXT", "HR-ONLY-FLAG-REASON"


@dataclass
class World:
    settings: object
    now: datetime
    sups: dict[str, list[Sup]] = field(default_factory=dict)

    def sup(self, who: str, index: int = -1) -> Sup:
        return Sup.get_by_id(self.sups[who][index].id)


def request_mail(sup: Sup):
    row = OutboundMessage.get(OutboundMessage.key == Keys.sup_request(sup.id))
    return message_from_bytes(bytes(row.raw), policy=policy.default)


def reply(settings, sup: Sup, body: str, now: datetime, quote: bool = True) -> None:
    """The developer answers the SUP mail; the reply goes through the pipeline."""
    person = sup.developer
    store_raw(make_reply(request_mail(sup), body, sender=f"{person.name} <{person.email}>",
                         quote=quote), "smtp", now)
    runner.process_pending(settings, now)


def build(settings, tmp_path: Path, days: int = 3) -> World:
    """Three days: each developer's SUP answered on days 1 and 2, open on day 3."""
    load_directory(tmp_path, DIRECTORY)
    world = World(settings, FIRST_DAY)
    for n in range(days):
        now = FIRST_DAY + timedelta(days=n)
        tick(settings, now, send=False)
        for who in ("alice", "bob", "carol"):
            person = Person.get(Person.email == PEOPLE[who][0])
            sup = Sup.select().where(Sup.developer == person).order_by(Sup.id.desc()).first()
            if who == "alice":
                sup.footprint = {"repos": {}, "assigned": ASSIGNED}
                sup.save()
            world.sups.setdefault(who, []).append(sup)
            if n < days - 1:
                reply(settings, sup, f"plan: {who} day {n + 1} work\nscheduling: full day",
                      now + timedelta(minutes=30))
    world.now = FIRST_DAY + timedelta(days=days - 1, hours=1)
    first = world.sup("alice", 0)
    review.add_note(first, "hana@example.com", HR_NOTE, world.now)
    review.flag(first, "hana@example.com", HR_FLAG, world.now)
    return world


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LINK = re.compile(r"https?://[^/\s]+(/login/[A-Za-z0-9_-]+)")


class Browser:
    """Flask's test client with the steps a person takes: sign in by mail, send forms."""

    def __init__(self, app):
        self.client = app.test_client()
        self.last = None

    def get(self, path: str, **kwargs):
        self.last = self.client.get(path, **kwargs)
        return self.last

    def token(self, path: str = "/login") -> str:
        page = self.client.get(path)
        found = _CSRF.search(page.get_data(as_text=True))
        assert found, f"no form on {path}: {page.status_code}"
        return found.group(1)

    def post(self, path: str, data: dict | None = None, *, form_from: str | None = None,
             csrf: bool = True, **kwargs):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token(form_from or path))
        self.last = self.client.post(path, data=data, **kwargs)
        return self.last

    def ask_link(self, address: str, next: str | None = None) -> str | None:
        """POST /login and read the link from the mail it queued (None if none was)."""
        before = OutboundMessage.select().where(OutboundMessage.kind == "sign_in").count()
        self.post("/login", {"email": address} | ({"next": next} if next else {}))
        rows = list(OutboundMessage.select().where(OutboundMessage.kind == "sign_in")
                    .order_by(OutboundMessage.id))
        if len(rows) == before:
            return None
        return _LINK.search(rows[-1].text_body).group(1)

    def sign_in(self, address: str) -> Browser:
        link = self.ask_link(address)
        assert link, f"no sign-in mail for {address}"
        done = self.post(link)
        assert done.status_code == 302, done.get_data(as_text=True)
        return self
