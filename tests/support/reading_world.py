"""A developer with assigned tickets and yesterday's plan, and a way to answer her SUP.

Alice has a submitted SUP for Tuesday (so "same as yesterday" has a plan to
take) and an open one for Wednesday whose mail lists four assigned tickets;
replies go through the CLI door, ``mailsup inbound deliver``, as files.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from mailsup import config, database
from mailsup.inbound.doors import pipe
from mailsup.jobs.tick import tick
from mailsup.models import Effect, InboundMessage, Keys, OutboundMessage, Sup
from mailsup.outbound import sender
from mailsup.testing import at, free_port
from mailsup.testing.config import write_config
from mailsup.testing.github_api import GitHubDouble
from mailsup.testing.replies import make_reply
from mailsup.testing.sink import SmtpSink
from tests.support.directory_samples import TWO_ZONES
from tests.support.helpers import load_directory

DIRECTORY = TWO_ZONES + """
[[repos]]
org = "acme"
name = "portal"

[[repos]]
org = "acme"
name = "billing"
"""
TICKETS = (("acme/portal", 60, "Checkout page"), ("acme/portal", 51, "Login redirect"),
           ("acme/portal", 45, "Cookie banner"), ("acme/billing", 130, "Invoice export"))
PREVIOUS_PLAN = "Finish the login fix\nReview Bob's PR"
# Answers are not rate-limited here: every reply of a sweep gets its receipt.
INI = """
[github]
token = test-token
base_url = {url}

[inbound]
auto_reply_interval_minutes = 0
"""
WEDNESDAY = at("2026-11-25T06:30")
_FILES = itertools.count(1)


def setup_github(double) -> None:
    for repo in ("acme/api", "acme/portal", "acme/billing"):
        double.add_repo(repo)
    for repo, number, title in TICKETS:
        double.add_issue(repo, number, title, "bobj", at("2026-11-23T09:00"), assignees=["alice"])


def request_of(sink, day: str = "Wed") -> object:
    (mail,) = [m for m in sink.to("alice@example.com") if "stand-up for" in str(m["Subject"])
               and day in str(m["Subject"])
               and not str(m["Subject"]).startswith(("Re:", "Reminder"))]
    return mail


def start(settings, folder: Path, sink) -> Sup:
    """Tuesday answered with PREVIOUS_PLAN, Wednesday's SUP mailed and open."""
    load_directory(folder, DIRECTORY)
    tick(settings, at("2026-11-24T05:00"))
    tuesday = request_of(sink, "Tue")
    deliver(settings, folder, make_reply(tuesday, f"plan: {PREVIOUS_PLAN}"),
            at("2026-11-24T06:00"))
    tick(settings, at("2026-11-25T05:00"))
    return Sup.get(Sup.day == "2026-11-25")


def deliver(settings, folder: Path, raw: bytes, now: datetime,
            flush: bool = True) -> InboundMessage:
    """One reply through ``mailsup inbound deliver FILE``, then the outbox flushed
    (sweeps leave the answers queued: the outbox row is what they check)."""
    path = folder / f"reply-{next(_FILES)}.eml"
    path.write_bytes(raw)
    code, (result,) = pipe.deliver(settings, [str(path)], now)
    assert code == pipe.EX_OK, result.line()
    if flush:
        sender.flush(settings, now)
    return InboundMessage.get_by_id(result.inbound_id)


def reopen(sup_id: int) -> Sup:
    """Wednesday's SUP as the tick left it: open, nothing answered (between examples)."""
    Sup.update(status="open", plan=None, scheduling=None, scheduling_note=None, blockers=None,
               planned_tickets=[], repo_comments={}, comment=None, draft=None,
               submitted_at=None, window_end=None, amendments=[]).where(
        Sup.id == sup_id).execute()
    # An earlier example's blocker is not this one's: each is escalated on its own.
    Effect.delete().where((Effect.sup == sup_id) & (Effect.kind == "escalation")).execute()
    return Sup.get_by_id(sup_id)


def answer_to(row: InboundMessage) -> OutboundMessage | None:
    """The receipt or refusal mailsup queued for an inbound reply."""
    keys = [Keys.answer(kind, row.id) for kind in ("receipt", "refusal")]
    return OutboundMessage.select().where(OutboundMessage.key.in_(keys)).first()


@dataclass
class Clock:
    """Each reply a little later than the one before (the pipeline keeps their order)."""

    now: datetime = WEDNESDAY

    def next(self) -> datetime:
        self.now += timedelta(seconds=10)
        return self.now


@dataclass
class World:
    settings: object
    sink: object
    folder: Path
    sup_id: int
    clock: Clock

    _request: object = None

    @property
    def request(self):
        if self._request is None:  # parsing the sink's growing list each time is slow
            self._request = request_of(self.sink)
        return self._request


def open_world(tmp_path_factory):
    """One SQLite world per test module (a module-scoped fixture): the sweeps send
    hundreds of replies to it."""
    folder = tmp_path_factory.mktemp("reading")
    sink = SmtpSink(free_port()).start()
    with GitHubDouble(token="test-token") as github:
        setup_github(github)
        path = write_config(folder / "mailsup.ini", f"sqlite:///{folder / 'mailsup.db'}",
                            sink.port, extra=INI.format(url=github.base_url))
        settings = config.load(str(path))
        database.bind(settings.database)
        database.migrate()
        sup = start(settings, folder, sink)
        database.db.obj.close()
        yield World(settings, sink, folder, sup.id, Clock())
    sink.stop()


def bound(shared_world):
    """The module's world, bound for one test (other modules bind their own databases)."""
    database.bind(shared_world.settings.database)
    yield shared_world
    database.db.obj.close()
