"""``mailsup demo``: two simulated business days on the embedded defaults.

Nothing outside this process is needed: a temporary directory holds the SQLite
database, a built-in aiosmtpd sink stands in for the relay, mailsup's own SMTP
listener receives the replies, and in-process GitHub and Slack simulators
answer the real PyGithub and slack_sdk clients. The clock is simulated: ticks
run back to back, scripted people reply at set instants, and every mail,
reply, Slack DM and GitHub issue is printed as it happens. The pages are
served on a free port (every mail links to them); at the end the demo asks
``/login`` for sign-in links and prints them, and in a terminal it keeps
serving until Ctrl-C (``--serve`` / ``--no-serve`` decide otherwise).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from mailsup import config as config_mod
from mailsup import database, directory
from mailsup.demo.pages import DemoPages
from mailsup.inbound.doors.smtp import make_controller
from mailsup.jobs.tick import tick
from mailsup.models import InboundMessage, OutboundMessage, Sup
from mailsup.testing import free_port
from mailsup.testing.config import write_config
from mailsup.testing.github_api import GitHubDouble
from mailsup.testing.replies import make_reply
from mailsup.testing.sink import SmtpSink
from mailsup.testing.slack_api import SlackDouble

START = datetime(2026, 11, 25, tzinfo=UTC)  # Wednesday; Thursday is US Thanksgiving
END = START + timedelta(days=1, hours=11)
STEP = timedelta(minutes=15)


def find(sink: SmtpSink, to: str, *words: str) -> EmailMessage | None:
    """The latest mail to ``to`` whose subject has ``words`` (not a receipt or reminder)."""
    for mail in reversed(sink.messages):
        msg = mail.message
        if to in mail.rcpt_tos and all(w in str(msg["Subject"]) for w in words) \
                and not str(msg["Subject"]).startswith(("Re:", "Reminder")):
            return msg
    return None


def _write_config(folder: Path, relay: int, listen: int, github: str, slack: str,
                  web: int) -> Path:
    return write_config(folder / "mailsup.ini", "sqlite:///mailsup.db", relay, f"""
        [inbound]
        listen = 127.0.0.1:{listen}

        [web]
        listen = 127.0.0.1:{web}
        base_url = http://127.0.0.1:{web}

        [github]
        token = demo-token
        base_url = {github}

        [slack]
        token = xoxb-demo
        base_url = {slack}
        """, "management = hana@example.com", secret="demo-secret-not-for-production-use",
                        reply_address="sup@demo.example")


def _seed_github(gh) -> None:
    """Some real-looking work on Tuesday and Wednesday for the footprints."""
    tue = START - timedelta(days=1)
    gh.add_repo("acme/hr")
    gh.add_repo("globex/hr")
    gh.add_issue("acme/api", 130, "Add the /v2/orders endpoint", "alice", tue + timedelta(hours=9),
                 assignees=["alice"])
    gh.add_issue("acme/api", 131, "Orders: paginate results", "alice", tue + timedelta(hours=10),
                 is_pr=True, commits=["Add cursor pagination", "Test the last page"],
                 merged_at=tue + timedelta(hours=15))
    gh.add_issue("acme/web", 45, "Dark mode for the dashboard", "bobj", tue + timedelta(hours=14),
                 assignees=["bobj", "alice"])
    gh.add_comment("acme/web", 45, "alice", tue + timedelta(hours=16), "Colours look good")
    gh.add_commit("acme/api", "9f1c2ab3d4e5f60718293a4b5c6d7e8f90a1b2c3", "alice",
                  "Fix typo in README", tue + timedelta(hours=17))
    gh.add_issue("globex/app", 7, "Offline sync loses edits", "chandra",
                 tue + timedelta(hours=5), assignees=["chandra"])
    gh.add_issue("globex/app", 8, "Retry queue for offline edits", "chandra",
                 tue + timedelta(hours=6), is_pr=True, commits=["Queue edits while offline"])


def _reply(original: EmailMessage, body: str, sender: str) -> bytes:
    return make_reply(original, body, sender=sender,
                      message_id=f"<demo-{abs(hash((body, sender))):x}@client.example>")


@dataclass
class Step:
    at: datetime
    who: str
    to: str  # whose mail they answer
    words: tuple[str, ...]  # picks the mail in the sink by subject words
    body: str


def script() -> list[Step]:
    day = START
    return [
        Step(day + timedelta(hours=2, minutes=15), "Chandra Rao <chandra@example.com>",
             "chandra@example.com", ("Globex", "stand-up"),
             "plan: finish the offline sync retry queue (app#8)\nscheduling: full day\n"
             "working: app#7\nblockers: still waiting for API keys from Globex IT"),
        # The delivery manager answers the escalation; mailsup relays it to Chandra.
        Step(day + timedelta(hours=3, minutes=5), "Dan Delivery <dan@example.com>",
             "dan@example.com", ("Blocker", "Chandra"),
             "I called Globex IT: the keys will be in your inbox by noon.\n"
             "Start on app#9 meanwhile."),
        Step(day + timedelta(hours=6, minutes=10), "Alice Smith <alice@example.com>",
             "alice@example.com", ("Acme", "stand-up"),
             "plan: ship /v2/orders and review Bob's dark mode\nscheduling: full day\n"
             "done: api#130\ncomment api: pagination merged yesterday"),
        Step(day + timedelta(hours=6, minutes=20), "Alice Smith <alice@home.example>",
             "alice@example.com", ("Globex", "stand-up"), "scheduling: half day"),
        Step(day + timedelta(hours=6, minutes=40), "Alice Smith <alice@home.example>",
             "alice@example.com", ("Globex", "stand-up"),
             "plan: pair with Chandra on the retry queue\nscheduling: half day"),
        Step(day + timedelta(hours=10, minutes=45), "Hana HR <hana@example.com>",
             "hana@example.com", ("Acme Corp:", "to review"), "reviewed\n\nThanks, Hana"),
        Step(day + timedelta(hours=10, minutes=50), "Hana HR <hana@example.com>",
             "hana@example.com", ("Globex:", "to review"), "note {first}: ask about the API keys"),
        Step(day + timedelta(days=1, hours=10, minutes=20), "Hana HR <hana@example.com>",
             "hana@example.com", ("Globex:", "to review"), "reviewed"),
    ]


class Printer:
    def __init__(self, as_json: bool):
        self.as_json, self.events = as_json, []

    def __call__(self, now: datetime, kind: str, text: str, **extra) -> None:
        self.events.append({"at": now.isoformat(), "kind": kind, "text": text} | extra)
        if not self.as_json:
            print(f"[{now:%a %H:%M} UTC] {kind:<7} {text}", flush=True)


def _send(port: int, raw: bytes, rcpt: str) -> None:
    async def go():
        await aiosmtplib.send(raw, hostname="127.0.0.1", port=port, sender="demo@client.example",
                              recipients=[rcpt])
    asyncio.run(go())


class World:
    """Everything the demo runs, started and stopped together."""

    def __init__(self, folder: Path):
        self.folder, self.sink = folder, SmtpSink(free_port()).start()
        self.now = START
        self.github = GitHubDouble(token="demo-token")
        self.slack = SlackDouble(token="xoxb-demo").start()
        self.listen_port = free_port()
        self.ini = _write_config(folder, self.sink.port, self.listen_port,
                                 self.github.base_url, self.slack.base_url, free_port())
        self.settings = config_mod.load(str(self.ini))
        database.bind(self.settings.database)
        database.migrate()
        self.listener = make_controller(self.settings, clock=lambda: self.now)
        self.listener.start()
        # After the simulated days the pages' clock runs on from the last instant.
        self.serving_since: float | None = None
        self.pages = DemoPages(self.settings, self.pages_now)

    def pages_now(self) -> datetime:
        if self.serving_since is None:
            return self.now
        return self.now + timedelta(seconds=time.monotonic() - self.serving_since)

    def close(self) -> None:
        for stop in (self.pages.stop, self.listener.stop, self.sink.stop, self.github.stop,
                     self.slack.stop):
            try:
                stop()
            except Exception:  # noqa: BLE001 - best effort at exit
                pass
        if database.db.obj is not None:
            database.db.obj.close()


def _watch(world: World, say: Printer) -> Callable[[], None]:
    """Print what reached the relay, Slack and GitHub since the last call."""
    seen = {"mail": 0, "slack": 0, "issues": set(), "closed": set(), "skipped": set()}
    shown_full = set()

    def check() -> None:
        now = world.now
        for sup in Sup.select().where(Sup.status == "skipped"):
            if sup.id not in seen["skipped"]:
                seen["skipped"].add(sup.id)
                say(now, "skipped", f"{sup.reference} {sup.developer.email} ({sup.client.slug}): "
                    f"{sup.skip_reason}; no mail")
        for mail in world.sink.messages[seen["mail"]:]:
            msg, rcpts, body = mail.message, mail.rcpt_tos, mail.text
            kind = "refusal" if "NOT recorded" in body else "mail"
            sent = OutboundMessage.get_or_none(OutboundMessage.message_id == msg["Message-ID"])
            say(now, kind, f"-> {', '.join(rcpts)}: {msg['Subject']}",
                role=sent.kind if sent else None)
            role = _role(str(msg["Subject"]), sent.kind if sent else "")
            if role not in shown_full and role in SHOWN_IN_FULL and \
                    not say.as_json and ("Acme" in str(msg["Subject"]) or role != "SUP"):
                shown_full.add(role)
                print(textwrap.indent(body.rstrip(), "    | ", predicate=lambda _l: True) + "\n")
        seen["mail"] = len(world.sink.messages)
        for message in world.slack.messages[seen["slack"]:]:
            say(now, "slack", f"DM {message.channel}: {message.text}")
        seen["slack"] = len(world.slack.messages)
        for repo in ("acme/hr", "globex/hr"):
            for number, issue in world.github.repos.get(repo).issues.items():
                if (repo, number) not in seen["issues"]:
                    seen["issues"].add((repo, number))
                    say(now, "github", f"opened {repo}#{number} {issue.title!r} assigned to "
                        f"{', '.join(issue.assignees) or 'nobody'}")
                if issue.closed_at and (repo, number) not in seen["closed"]:
                    seen["closed"].add((repo, number))
                    say(now, "github", f"closed {repo}#{number} (the SUP was reviewed)")
    return check


def _check_setup(world: World, say: Printer) -> None:
    """What `mailsup check` says of the demo's parts, run as an operator runs it before day one.

    A child process, as on the command line: the demo is a user of the CLI, not a part of it.
    """
    proc = subprocess.run([sys.executable, "-m", "mailsup", "--config", str(world.ini),
                           "check", "--json"], capture_output=True, text=True, timeout=120)
    try:
        lines = json.loads(proc.stdout)["checks"]
    except (ValueError, KeyError):
        say(world.now, "check", f"✗ mailsup check did not answer: {proc.stderr.strip()[-200:]}")
        return
    for line in lines:
        say(world.now, "check", f"{CHECK_MARKS.get(line['status'], '?')} {line['part']}: "
                                f"{line['message']}")


CHECK_MARKS = {"ok": "✓", "fail": "✗", "skip": "·"}  # as `mailsup check` prints them

# One of each, so a reader sees what people get without reading thirty mails.
SHOWN_IN_FULL = ("SUP", "receipt", "manager's answer", "HR digest")


def _role(subject: str, kind: str) -> str:
    if kind == "blocker_reply":
        return "manager's answer"
    if subject.startswith("Re:"):
        return "receipt"
    if "to review" in subject:
        return "HR digest"
    return "SUP" if "stand-up" in subject else "other"


def _play(world: World, step: Step, say: Printer) -> None:
    original = find(world.sink, step.to, *step.words)
    if original is None:
        say(world.now, "skip", f"{step.who}: no mail to answer yet")
        return
    body = step.body
    if "{first}" in body:
        first = Sup.select().where(Sup.status == "submitted").order_by(Sup.id).first()
        body = body.replace("{first}", str(first.id if first else 0))
    _send(world.listen_port, _reply(original, body, step.who),
          original["Reply-To"].addresses[0].addr_spec)
    say(world.now, "reply", f"<- {step.who}: {body.splitlines()[0]}")


def run_demo(keep: bool = False, as_json: bool = False, serve: bool | None = None) -> int:
    """``serve``: keep the pages up until Ctrl-C (default: when run in a terminal)."""
    if serve is None:
        serve = sys.stdin.isatty() and sys.stdout.isatty() and not as_json
    folder = Path(tempfile.mkdtemp(prefix="mailsup-demo-"))
    say = Printer(as_json)
    world = World(folder)
    try:
        loaded = directory.load_file(Path(__file__).parent / "directory.toml",
                                     world.settings.schedule)
        _seed_github(world.github)
        if not as_json:
            print(f"mailsup demo in {folder}\n{loaded.summary()}; simulating Wed 25 and "
                  f"Thu 26 November 2026 (UTC clock, a tick every 15 minutes)\n", flush=True)
        _check_setup(world, say)
        steps, check = script(), _watch(world, say)
        while world.now <= END:
            for step in [s for s in steps if s.at <= world.now]:
                steps.remove(step)
                _play(world, step, say)
            tick(world.settings, world.now)
            check()
            world.now += STEP
        world.serving_since = time.monotonic()
        _summary(world, say, folder, keep, _sign_in_links(world), serve)
        if serve:
            _serve(world)
    finally:
        world.close()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


DEMO_SIGN_IN = {"hana@example.com": "Hana (HR of both clients, and management)",
                "alice@example.com": "Alice (a developer)"}


def _sign_in_links(world: World) -> dict[str, str | None]:
    """One-time links asked for on /login, as a person would (each works once, 15 minutes)."""
    return {address: world.pages.sign_in_link(address, world.sink) for address in DEMO_SIGN_IN}


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def _serve(world: World) -> None:
    print("\nThe pages stay up until Ctrl-C.", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        print("stopped", flush=True)


def _summary(world: World, say: Printer, folder: Path, keep: bool,
             links: dict[str, str | None], serve: bool) -> None:
    counts = {
        "mails_sent": OutboundMessage.select().where(OutboundMessage.status == "sent").count(),
        "replies_received": InboundMessage.select().count(),
        "slack_dms": len(world.slack.messages),
        "github_requests": len(world.github.requests),
        "sups": {s: Sup.select().where(Sup.status == s).count()
                 for s in ("open", "submitted", "reviewed", "skipped", "missed")},
    }
    if say.as_json:
        print(json.dumps({"directory": str(folder) if keep else None, "events": say.events,
                          "totals": counts, "pages": {"url": world.settings.web.base_url,
                                                      "sign_in": links}}, indent=2))
        return
    sups = ", ".join(f"{n} {status}" for status, n in counts["sups"].items())
    sign_ins = OutboundMessage.select().where(OutboundMessage.kind == "sign_in").count()
    print(f"\n{counts['mails_sent']} mails sent over SMTP ({sign_ins} of them the sign-in "
          f"links below), {counts['replies_received']} replies "
          f"received over SMTP, {counts['slack_dms']} Slack DMs, "
          f"{counts['github_requests']} GitHub API requests; SUPs: {sups}")
    print(f"\nPages at {world.settings.web.base_url}/ (every mail above links to them). "
          "Sign in with one of these one-time links (15 minutes each):")
    for address, link in links.items():
        print(f"  {DEMO_SIGN_IN[address]}: {link or '(no sign-in mail arrived)'}")
    if not serve:
        # Not a terminal, or --no-serve: the pages stop with this process.
        print("The pages stop with the demo: run `mailsup demo --serve` (the default in a "
              "terminal) to keep them up until Ctrl-C and use these links.")
    if keep:
        print(f"Look around: mailsup --config {folder / 'mailsup.ini'} sup list")
    else:
        print("Run `mailsup demo --keep` to keep the database and look around.")
    sys.stdout.flush()
