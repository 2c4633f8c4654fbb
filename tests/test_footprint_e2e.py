"""Footprints through the whole system: tick → SUP mail → reply → snapshot."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mailsup.inbound import runner
from mailsup.inbound.store import store_raw
from mailsup.jobs.tick import tick
from mailsup.models import Repo, Sup, Team
from mailsup.outbound import sender
from mailsup.testing import at
from mailsup.testing.config import write_config
from mailsup.testing.replies import make_reply
from tests.support.directory_samples import TWO_ZONES
from tests.support.helpers import load_directory

GITHUB_INI = """
    [github]
    token = test-token
    base_url = {url}
    """


@pytest.fixture
def gh_world(make_settings, smtp_sink, github_double, tmp_path):
    github_double.add_repo("acme/api")
    settings = make_settings(smtp_sink.port, extra=GITHUB_INI.format(url=github_double.base_url))
    load_directory(tmp_path, TWO_ZONES)
    return settings


def alice_requests(sink):
    return [m for m in sink.to("alice@example.com") if "stand-up for" in str(m["Subject"])
            and not str(m["Subject"]).startswith(("Re:", "Reminder"))]


def test_sup_mail_shows_the_footprint(gh_world, smtp_sink, github_double):
    github_double.add_issue("acme/api", 130, "Add orders endpoint", "alice",
                            at("2026-11-24T09:00"), assignees=["alice"])
    github_double.add_commit("acme/api", "a" * 40, "alice", "Fix the build", at("2026-11-24T12:00"))
    tick(gh_world, at("2026-11-25T05:00"))
    (mail,) = alice_requests(smtp_sink)
    assert "### acme/api" in mail.text and "#130 Add orders endpoint (opened)" in mail.text
    assert "aaaaaaa Fix the build" in mail.text
    assert "[ ] api#130 Add orders endpoint" in mail.text


@pytest.mark.parametrize("breakage, note, said", [
    ("down", "footprint unavailable", "GitHub activity isn't available today; it will be in"),
    ("rate", "footprint unavailable", "GitHub activity isn't available today; it will be in"),
    ("404", "not found", "Some GitHub activity could not be read today (acme/gone)"),
])
def test_sup_goes_out_on_time_when_github_fails(gh_world, smtp_sink, github_double, breakage,
                                                note, said):
    if breakage == "down":
        github_double.set_down("error")
    elif breakage == "rate":
        github_double.exhaust_rate_limit()
    else:
        Repo.create(org=Repo.select().first().org, name="gone")
    tick(gh_world, at("2026-11-25T05:00"))
    (mail,) = alice_requests(smtp_sink)
    # The operator's note is kept on the SUP; the developer reads it in plain words.
    assert note in Sup.get().footprint_note and note not in mail.text
    assert said in mail.text
    assert Sup.get().status == "open"


def test_directory_sync_github(gh_world, github_double, tmp_path):
    github_double.add_repo("acme/web")
    github_double.add_team("acme", "mobile", "Mobile", ["alice", "stranger"])
    proc = subprocess.run([sys.executable, "-m", "mailsup", "--config", str(gh_world.path),
                           "directory", "sync-github"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "+ repo acme/web" in proc.stdout and "+ team acme/mobile" in proc.stdout
    assert "stranger" in proc.stdout  # unknown logins are reported, not invented
    assert Team.select().where(Team.slug == "mobile").count() == 1
    again = subprocess.run([sys.executable, "-m", "mailsup", "--config", str(gh_world.path),
                            "directory", "sync-github"], capture_output=True, text=True,
                           timeout=60)
    assert "+ " not in again.stdout  # idempotent


DAYS = ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27"]


@hsettings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.generate],
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(st.integers(min_value=0, max_value=5 * 24 * 60 - 1), min_size=1,
                       max_size=25),
       replies=st.lists(st.one_of(st.none(), st.integers(min_value=10, max_value=600)),
                        min_size=5, max_size=5))
def test_every_event_in_exactly_one_snapshot(smtp_sink, github_double, events, replies):
    """Random commits at random minutes; a SUP each morning; replies at random delays
    (or none). Every commit before the last submission is in exactly one snapshot."""
    from mailsup import config, database
    from mailsup.models import db

    github_double.repos.clear()
    github_double.add_repo("acme/api")
    smtp_sink.messages.clear()
    folder = Path(tempfile.mkdtemp(prefix="mailsup-prop-"))
    path = write_config(folder / "mailsup.ini", f"sqlite:///{folder / 'db.sqlite'}",
                        smtp_sink.port, GITHUB_INI.format(url=github_double.base_url))
    settings = config.load(str(path))
    database.bind(settings.database)
    database.migrate()
    load_directory(folder, TWO_ZONES)
    start = at("2026-11-23T00:00")
    shas = {}
    for i, minute in enumerate(sorted(set(events))):
        sha = f"{i:040x}"
        shas[sha] = start + timedelta(minutes=minute)
    pending = sorted(shas.items(), key=lambda kv: kv[1])
    last_submitted = None
    for day, delay in zip(DAYS, replies, strict=True):
        morning = at(f"{day}T05:00")
        _add_until(github_double, pending, morning)
        tick(settings, morning)
        if delay is None:
            continue
        reply_at = morning + timedelta(minutes=delay)
        _add_until(github_double, pending, reply_at)
        request = alice_requests(smtp_sink)[-1]
        store_raw(make_reply(request, f"plan: day {day}"), "cli", reply_at)
        runner.process_pending(settings, reply_at)
        sender.flush(settings, reply_at)
        last_submitted = reply_at
    seen: dict[str, int] = {}
    for sup in Sup.select().where(Sup.submitted_at.is_null(False)):
        for repo in (sup.footprint or {}).get("repos", {}).values():
            for commit in repo.get("commits", []):
                seen[commit["sha"]] = seen.get(commit["sha"], 0) + 1
    assert all(count == 1 for count in seen.values()), "an event is in two snapshots"
    if last_submitted is not None:
        # The first window looks back one business day (design §4): earlier work
        # belongs to no SUP by definition.
        first = min(s.window_start for s in Sup.select().where(Sup.submitted_at.is_null(False)))
        due = {sha for sha, when in shas.items()
               if first <= when.replace(tzinfo=None) < last_submitted.replace(tzinfo=None)}
        assert due <= set(seen), f"lost: {sorted(due - set(seen))[:3]}"
    db.close()
    shutil.rmtree(folder, ignore_errors=True)


def _add_until(github_double, pending, until) -> None:
    while pending and pending[0][1] < until:
        sha, when = pending.pop(0)
        github_double.add_commit("acme/api", sha, "alice", f"work at {when:%a %H:%M}", when)
