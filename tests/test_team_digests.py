"""Team digests by date: "not sent yet" only when true, and every date once across DST."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from mailsup.jobs.tick import tick
from mailsup.models import Effect, OutboundMessage, Person
from mailsup.testing import at
from tests.support.helpers import load_directory

TOKYO_LEADS = """
[[people]]
email = "kai@example.com"
name = "Kai Tanaka"
timezone = "Asia/Tokyo"

[[people]]
email = "bia@example.com"
name = "Bia Costa"
timezone = "America/Sao_Paulo"

[[clients]]
slug = "acme"
name = "Acme"
orgs = ["acme"]

[[teams]]
org = "acme"
slug = "core"
name = "Core"
members = ["kai@example.com", "bia@example.com"]
delivery_manager = "kai@example.com"
"""


def digests_to(who: str) -> list[OutboundMessage]:
    return [r for r in OutboundMessage.select().where(OutboundMessage.kind == "team_digest")
            .order_by(OutboundMessage.id) if r.recipients == [who]]


def test_not_sent_yet_only_while_their_morning_is_to_come(settings, tmp_path):
    load_directory(tmp_path, TOKYO_LEADS)
    tick(settings, at("2026-11-24T21:00"))  # Kai's 06:00 on Wednesday
    tick(settings, at("2026-11-25T01:30"))  # Kai's 10:30: Bia's Wednesday is to come
    (kai,) = digests_to("kai@example.com")
    assert "Core (Acme) on Wednesday 25 November 2026" in kai.text_body
    assert "Bia Costa: SUP not sent yet (their morning comes later)" in kai.text_body
    tick(settings, at("2026-11-25T09:00"))  # Bia's 06:00
    tick(settings, at("2026-11-25T13:30"))  # Bia's 10:30: still Wednesday in Tokyo (22:30)
    (bia,) = digests_to("bia@example.com")
    assert "Core (Acme) on Wednesday 25 November 2026" in bia.text_body
    assert "not sent yet" not in bia.text_body
    assert "Bia Costa: has not replied yet" in bia.text_body


def test_a_team_whose_first_sups_come_later_that_day_is_not_skipped(settings, tmp_path):
    """The first tick is late in New York's evening; its next morning still gets a digest."""
    load_directory(tmp_path, TOKYO_LEADS.replace("Asia/Tokyo", "America/New_York"))
    for instant in ("2026-11-25T02:00", "2026-11-25T11:00", "2026-11-25T15:30"):
        tick(settings, at(instant))
    assert len(digests_to("kai@example.com")) == 1


# Ari works every day in Auckland; Helga, in Helsinki, leads. Ari's 10:30 falls near
# midnight in Helsinki, so Helsinki's daylight-saving changes move Ari's team date.
EVERY_DAY = """
[[people]]
email = "ari@example.com"
name = "Ari Ngata"
timezone = "Pacific/Auckland"
workdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

[[people]]
email = "helga@example.com"
name = "Helga Virtanen"
timezone = "Europe/Helsinki"

[[clients]]
slug = "acme"
name = "Acme"
orgs = ["acme"]

[[teams]]
org = "acme"
slug = "core"
name = "Core"
members = ["ari@example.com"]
delivery_manager = "helga@example.com"
"""


@pytest.mark.parametrize("start, days", [
    ("2026-03-26T00:00", 6),  # Helsinki springs forward on Sunday 29 March: a date skipped
    ("2026-10-22T00:00", 6),  # and falls back on Sunday 25 October: a date repeated
])
def test_every_team_date_once_for_a_recipient_across_dst(settings, tmp_path, start, days):
    load_directory(tmp_path, EVERY_DAY)
    now = datetime.fromisoformat(start + "+00:00")
    for _ in range(days * 48):
        tick(settings, now, send=False)
        now += timedelta(minutes=30)
    ari = Person.get(Person.email == "ari@example.com")
    shown = Counter(d for e in Effect.select().where(Effect.key.startswith(
        f"team_digests:{ari.id}:")) for _t, d in e.data["sections"])
    dates = sorted(date.fromisoformat(d) for d in shown)
    assert set(shown.values()) == {1}
    assert dates == [dates[0] + timedelta(days=i) for i in range(len(dates))]  # no gap
    assert len(dates) >= days - 2
    per_day = Counter(e.key for e in Effect.select().where(Effect.kind == "team_digests"))
    assert set(per_day.values()) == {1}
