"""A simulated week for two clients: HR-only text never reaches anyone but HR.

Developers answer every SUP (some amend after review), HR answers every
digest with notes, flags and reviews carrying marker strings; then every
mail the relay received is searched for the markers.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from mailsup import directory
from mailsup.inbound import runner
from mailsup.inbound.store import store_raw
from mailsup.jobs.tick import tick
from mailsup.testing import at
from mailsup.testing.replies import make_reply

DEMO_DIRECTORY = Path(__file__).resolve().parents[1] / "mailsup" / "demo" / "directory.toml"
HR = {"hana@example.com"}
NAMES = {"alice@example.com": "Alice Smith", "bob@example.com": "Bob Jones",
         "chandra@example.com": "Chandra Rao"}


def _subject(mail) -> str:
    return str(mail["Subject"])


def _is_request(mail) -> bool:
    return "stand-up for" in _subject(mail) and not _subject(mail).startswith(("Re:", "Reminder"))


def _is_digest(mail) -> bool:
    return "to review" in _subject(mail) and not _subject(mail).startswith("Re:")


def _deliver(settings, raw, now) -> None:
    store_raw(raw, "cli", now)


class Week:
    def __init__(self, settings, sink):
        self.settings, self.sink, self.handled, self.marker = settings, sink, 0, 0
        self.requests: dict[str, list] = {}

    def answer_new_mail(self, now) -> None:
        for mail in self.sink.messages[self.handled:]:
            who = mail.rcpt_tos[0]
            if _is_request(mail):
                self.requests.setdefault(who, []).append(mail)
                body = f"plan: work on {_subject(mail)[:12]}\nblockers: none"
                _deliver(self.settings, make_reply(mail, body, sender=f"{NAMES[who]} <{who}>"),
                         now)
            elif _is_digest(mail):
                self._hr_commands(mail, now)
        self.handled = len(self.sink.messages)

    def _hr_commands(self, digest, now) -> None:
        ids = re.findall(r"=== SUP (\d+)", digest.text)
        lines = []
        for ident in ids:
            self.marker += 1
            lines.append(f"note {ident}: HRSECRET-{self.marker} talk about pace")
            lines.append(f"flag {ident} FLAGSECRET-{self.marker}")
        if self.marker % 2:
            lines.append("reviewed")
        _deliver(self.settings, make_reply(digest, "\n".join(lines),
                                           sender="Hana HR <hana@example.com>"), now)

    def amend_reviewed(self, now) -> None:
        """Developers answer an old SUP again after HR reviewed it."""
        for who, mails in self.requests.items():
            if len(mails) > 2:
                _deliver(self.settings, make_reply(mails[0], "plan: amended after review",
                                                   sender=f"{NAMES[who]} <{who}>"), now)


def test_hr_only_fields_never_reach_developers_or_teams(make_settings, smtp_sink):
    settings = make_settings(smtp_sink.port, mailsup_extra="management = boss@example.com")
    directory.load_file(DEMO_DIRECTORY, settings.schedule)
    week = Week(settings, smtp_sink)
    now, end = at("2026-11-23T00:00"), at("2026-11-28T00:00")  # Monday to Friday
    while now < end:
        tick(settings, now)
        week.answer_new_mail(now)
        runner.process_pending(settings, now)
        if now.hour == 16 and now.minute == 0:
            week.amend_reviewed(now)
        now += timedelta(minutes=30)

    leaked, hr_mail, others = [], 0, 0
    for mail in smtp_sink.messages:
        text = mail.text + mail.html + _subject(mail)
        if set(mail.rcpt_tos) <= HR | {"boss@example.com"}:
            hr_mail += "HRSECRET" in text
            continue
        others += 1
        if "SECRET" in text:
            leaked.append((mail.rcpt_tos, _subject(mail)))
    kinds = {re.sub(r"\d+", "N", _subject(m))[:30] for m in smtp_sink.messages}
    print(f"\nprivacy week: {len(smtp_sink.messages)} mails ({others} not to HR), "
          f"{week.marker} HR notes, {hr_mail} HR mails carrying them; kinds: {len(kinds)}")
    assert week.marker >= 10 and hr_mail >= 1, "the simulation must exercise HR notes"
    assert any("Blocker" in _subject(m) or "plans for" in _subject(m)
               for m in smtp_sink.messages)
    assert leaked == []
