#!/usr/bin/env python3
"""A distributed team's week, simulated: how many mails does each person get per day?

    python3 scripts/trial_week.py            # a table: person x local day
    python3 scripts/trial_week.py --json     # the same figures for scripts

Developers in Tokyo, Vienna, São Paulo and Auckland, their delivery manager in
Los Angeles, one developer (Kenji) in two clients, from Friday 23 October to
Tuesday 3 November 2026: Vienna leaves summer time on 25 October, Los Angeles
on 1 November. People reply at set local times (Sofia misses one day and
answers another late, Kenji answers Thursday after his reminder, Aroha's
out-of-office answers from Thursday on), HR reviews Acme but never Globex.
No GitHub token. Every mail is an outbox row; a mail counts on the
recipient's local date when it was queued.

Only APIs that ``main`` had before issue 12 are used, so the same script
measures a checkout before and after (``PYTHONPATH=OLD_CHECKOUT python3 …``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

from mailsup import config as config_mod
from mailsup import database, directory
from mailsup.inbound.store import store_raw
from mailsup.jobs.tick import tick
from mailsup.models import Client, OutboundMessage, Person, Sup, db
from mailsup.testing.config import write_config
from mailsup.testing.replies import make_reply

START = datetime(2026, 10, 23, 17, 0, tzinfo=UTC)  # Friday, after everyone's SUP time
END = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)  # Tuesday
STEP = timedelta(minutes=15)
DAYS = [date(2026, 10, 23) + timedelta(days=i) for i in range(12)]

DIRECTORY = """
[[people]]
email = "kenji@example.com"
name = "Kenji Sato"
timezone = "Asia/Tokyo"
workdays = ["mon", "tue", "wed", "thu"]

[[people]]
email = "vera@example.com"
name = "Vera Huber"
timezone = "Europe/Vienna"

[[people]]
email = "sofia@example.com"
name = "Sofia Lima"
timezone = "America/Sao_Paulo"
workdays = ["mon", "tue", "wed", "thu"]

[[people]]
email = "aroha@example.com"
name = "Aroha Ngata"
timezone = "Pacific/Auckland"

[[people]]
email = "lena@example.com"
name = "Lena Park"
timezone = "America/Los_Angeles"

[[people]]
email = "hana@example.com"
name = "Hana HR"
timezone = "Europe/Vienna"

[[clients]]
slug = "acme"
name = "Acme"
orgs = ["acme"]
hr = "hana@example.com"
hr_repo = "acme/hr"
delivery_managers = ["lena@example.com"]

[[clients]]
slug = "globex"
name = "Globex"
orgs = ["globex"]
hr = "hana@example.com"
hr_repo = "globex/hr"
delivery_managers = ["lena@example.com"]

[[teams]]
org = "acme"
slug = "platform"
name = "Platform"
members = ["kenji@example.com", "vera@example.com", "sofia@example.com", "aroha@example.com"]
delivery_manager = "lena@example.com"

[[teams]]
org = "globex"
slug = "app"
name = "App"
members = ["kenji@example.com", "sofia@example.com"]
delivery_manager = "lena@example.com"
"""

NAMES = {"kenji": "Kenji Sato", "vera": "Vera Huber", "sofia": "Sofia Lima",
         "aroha": "Aroha Ngata", "hana": "Hana HR"}
MANAGEMENT = "ops@example.com"
OUT_OF_OFFICE = "I am out of the office, back on Tuesday 3 November.\n\nKind regards, Aroha"


@dataclass(frozen=True)
class Reply:
    who: str  # local part of the address
    client: str
    day: date  # the SUP's day
    at: datetime  # when the mail is received (UTC)
    body: str
    automatic: bool = False


def local(day: date, hh: int, mm: int, tz: str) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def script() -> list[Reply]:
    mon = date(2026, 10, 26)
    week = [mon + timedelta(days=i) for i in range(4)]  # Mon..Thu
    nxt = date(2026, 11, 2)  # the Monday after
    replies: list[Reply] = []
    for day in [*week, mon + timedelta(days=4), nxt]:
        if day.weekday() < 5:
            replies.append(Reply("vera", "acme", day, local(day, 7, 0, "Europe/Vienna"),
                                 f"plan: Vienna work for {day}\nscheduling: full day"))
    for day in [*week, nxt]:
        hh, mm = (11, 0) if day.weekday() == 3 else (7, 30)  # Thursday: after the reminder
        for client in ("acme", "globex"):
            replies.append(Reply("kenji", client, day, local(day, hh, mm, "Asia/Tokyo"),
                                 f"plan: {client} work in Tokyo for {day}"))
    for i, day in enumerate([*week, nxt]):
        replies.append(Reply("sofia", "globex", day, local(day, 8, 0, "America/Sao_Paulo"),
                             f"plan: globex work for {day}"))
        if i == 1:
            continue  # Tuesday's Acme SUP: missed
        when = local(day + timedelta(days=1), 7, 0, "America/Sao_Paulo") if i == 2 else \
            local(day, 8, 0, "America/Sao_Paulo")  # Wednesday's: answered Thursday, late
        replies.append(Reply("sofia", "acme", day, when, f"plan: acme work for {day}"))
    for day in week[:3]:
        replies.append(Reply("aroha", "acme", day, local(day, 7, 0, "Pacific/Auckland"),
                             f"plan: Auckland work for {day}"))
    # Her out-of-office answers every SUP mail from Thursday on, a few minutes after it.
    for day in (week[3], mon + timedelta(days=4), nxt):
        replies.append(Reply("aroha", "acme", day, local(day, 6, 5, "Pacific/Auckland"),
                             OUT_OF_OFFICE, automatic=True))
    return sorted(replies, key=lambda r: r.at)


def request_mail(reply: Reply):
    person = Person.get(Person.email == f"{reply.who}@example.com")
    sup = Sup.get_or_none((Sup.developer == person) & (Sup.day == reply.day)
                          & (Sup.client == Client.get(Client.slug == reply.client)))
    if sup is None:
        return None
    row = OutboundMessage.get_or_none(OutboundMessage.key == f"sup_request:{sup.id}")
    return message_from_bytes(bytes(row.raw), policy=policy.default) if row else None


def hr_review(now: datetime) -> list[bytes]:
    """Hana answers each Acme digest "reviewed" as it arrives; Globex's she leaves."""
    raws = []
    for row in OutboundMessage.select().where(OutboundMessage.kind == "hr_digest"):
        if not row.subject.startswith("Acme") or row.id in _reviewed:
            continue
        _reviewed.add(row.id)
        original = message_from_bytes(bytes(row.raw), policy=policy.default)
        raws.append(make_reply(original, "reviewed", sender="Hana HR <hana@example.com>",
                               quote=False, date=now))
    return raws


_reviewed: set[int] = set()


def deliver(reply: Reply, now: datetime) -> bool:
    original = request_mail(reply)
    if original is None:
        return False  # no SUP mail that day, so nothing to answer
    headers = {"Auto-Submitted": "auto-replied"} if reply.automatic else None
    subject = f"Automatic reply: {original['Subject']}" if reply.automatic else None
    raw = make_reply(original, reply.body, sender=f"{NAMES[reply.who]} <{reply.who}@example.com>",
                     quote=not reply.automatic, headers=headers, subject=subject, date=now)
    store_raw(raw, "smtp", now)
    return True


def run_trial(folder: Path, db_url: str | None = None) -> dict:
    """Play the week; returns the figures (the database stays bound for inspection)."""
    ini = write_config(folder / "mailsup.ini", db_url or f"sqlite:///{folder / 'trial.db'}",
                       None, mailsup_extra=f"management = {MANAGEMENT}")
    settings = config_mod.load(str(ini))
    database.bind(settings.database)
    database.migrate()
    (folder / "directory.toml").write_text(DIRECTORY, encoding="utf-8")
    _reviewed.clear()
    pending, now, replies_sent = script(), START, 0
    directory.load_file(folder / "directory.toml", settings.schedule)
    while now <= END:
        while pending and pending[0].at <= now:
            replies_sent += deliver(pending.pop(0), now)
        for raw in hr_review(now):
            store_raw(raw, "smtp", now)
        tick(settings, now)
        now += STEP
    return figures(replies_sent)


def figures(replies_sent: int) -> dict:
    zones = {p.email: p.timezone for p in Person.select()}
    per_day: dict[str, Counter] = defaultdict(Counter)
    kinds: dict[str, Counter] = defaultdict(Counter)
    for row in OutboundMessage.select().order_by(OutboundMessage.id):
        for to in row.recipients:
            tz = ZoneInfo(zones.get(to, "UTC"))
            day = row.created_at.replace(tzinfo=UTC).astimezone(tz).date()
            per_day[to][str(day)] += 1
            kinds[to][row.kind] += 1
    return {"per_person_day": {k: dict(v) for k, v in sorted(per_day.items())},
            "per_person_kind": {k: dict(v) for k, v in sorted(kinds.items())},
            "total_mails": sum(sum(v.values()) for v in per_day.values()),
            "replies": replies_sent,
            "sups": dict(Counter(s.status for s in Sup.select()))}


def table(result: dict) -> str:
    head = "person".ljust(20) + "".join(f"{d:%a%d}".rjust(7) for d in DAYS) + "  total  max/day"
    lines = [head]
    for person, days in result["per_person_day"].items():
        counts = [days.get(str(d), 0) for d in DAYS]
        lines.append(person.ljust(20) + "".join(str(c or ".").rjust(7) for c in counts)
                     + f"{sum(counts):>7}{max(counts):>9}")
    lines.append(f"total mails {result['total_mails']}, replies {result['replies']}, "
                 f"SUPs {result['sups']}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mailsup-trial-") as tmp:
        result = run_trial(Path(tmp))
        db.close()
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
