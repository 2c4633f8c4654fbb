"""Hardening, round two (issue 14): each hole an independent review got through,
kept as a test that failed before the fix, beside a control that the genuine case
still works."""

from __future__ import annotations

import pytest

from mailsup.inbound import runner
from mailsup.inbound.store import store_raw
from mailsup.jobs.tick import tick
from mailsup.models import InboundMessage, Sup
from mailsup.outbound import sender
from mailsup.testing import at
from mailsup.testing.replies import make_reply
from tests.support.directory_samples import TWO_ZONES
from tests.support.helpers import load_directory

NOW = at("2026-11-25T07:00")
OURS = "mx.mailsup.test"


@pytest.fixture
def world(settings, tmp_path, smtp_sink):
    load_directory(tmp_path, TWO_ZONES)
    tick(settings, at("2026-11-25T05:00"))
    return settings


@pytest.fixture
def dmarc_world(make_settings, smtp_sink, tmp_path):
    settings = make_settings(smtp_sink.port, extra=f"""
        [inbound]
        require_dmarc = yes
        authserv_id = {OURS}
        """)
    load_directory(tmp_path, TWO_ZONES)
    tick(settings, at("2026-11-25T05:00"))
    return settings


def receive(settings, raw, now=NOW, source="smtp", **kwargs):
    stored = store_raw(raw, source, now, **kwargs)
    runner.process_pending(settings, now)
    sender.flush(settings, now)
    return InboundMessage.get_by_id(stored.row.id)


def request(sink, who="alice@example.com"):
    return [m for m in sink.to(who) if "stand-up" in str(m["Subject"])
            and not str(m["Subject"]).startswith(("Re:", "Reminder"))][0]


def prepend(raw: bytes, *headers: str) -> bytes:
    """What a receiving MTA does (RFC 8601 §5): its own headers go on top."""
    return "".join(f"{h}\r\n" for h in headers).encode() + raw


# --- 1. DMARC: only our MTA's topmost verdict, fail anywhere wins, header.from must match ---

def test_forged_dmarc_pass_below_our_mtas_header_is_not_trusted(dmarc_world, smtp_sink):
    forged = make_reply(request(smtp_sink), "plan: forged", headers={
        "Authentication-Results": f"{OURS}; dmarc=pass header.from=example.com"})
    row = receive(dmarc_world, prepend(forged, f"Authentication-Results: {OURS}; spf=none"))
    assert row.status == "refused" and Sup.get().status == "open", row.reasons


def test_forged_dmarc_pass_above_a_real_fail_does_not_win(dmarc_world, smtp_sink):
    # An MTA that appends: the sender's forged header ends up above the real verdict.
    forged = prepend(make_reply(request(smtp_sink), "plan: forged"),
                     f"Authentication-Results: {OURS}; dmarc=pass header.from=example.com")
    head, _, body = forged.partition(b"\n\n")
    raw = head + f"\nAuthentication-Results: {OURS}; dmarc=fail header.from=example.com" \
        .encode() + b"\n\n" + body
    assert raw.count(b"Authentication-Results") == 2
    row = receive(dmarc_world, raw)
    assert row.status == "refused" and Sup.get().status == "open", row.reasons


def test_dmarc_pass_for_another_domain_does_not_cover_from(dmarc_world, smtp_sink):
    raw = prepend(make_reply(request(smtp_sink), "plan: forged"),
                  f"Authentication-Results: {OURS}; dmarc=pass header.from=evil.example")
    row = receive(dmarc_world, raw)
    assert row.status == "refused" and Sup.get().status == "open", row.reasons
    assert any("evil.example" in r for r in row.reasons), row.reasons


def test_control_our_mtas_dmarc_pass_on_top_is_applied(dmarc_world, smtp_sink):
    raw = prepend(make_reply(request(smtp_sink), "plan: genuine"),
                  f"Authentication-Results: {OURS}; dkim=pass header.d=example.com; "
                  "dmarc=pass header.from=Example.COM",
                  "Received: from mx.example.com by mx.mailsup.test")
    row = receive(dmarc_world, raw)
    assert row.status == "applied", row.reasons


# --- 2. one From, one address, readable — or refused with the reason ---

def with_header(raw: bytes, header: str) -> bytes:
    """Add a header at the end of the sender's header block."""
    head, _, body = raw.partition(b"\n\n")
    return head + b"\n" + header.encode() + b"\n\n" + body


def test_two_from_headers_are_refused_not_read_as_the_first(world, smtp_sink):
    raw = with_header(make_reply(request(smtp_sink), "plan: evil"),
                      "From: Mallory <mallory@evil.example>")
    row = receive(world, raw)
    assert row.status == "refused" and Sup.get().status == "open", row.reasons
    assert any("2 From headers" in r for r in row.reasons), row.reasons


def test_sender_less_multi_address_from_is_refused_with_the_reason(world, smtp_sink):
    raw = make_reply(request(smtp_sink), "plan: evil",
                     sender="alice@example.com, mallory@evil.example")
    row = receive(world, raw)
    assert row.status == "refused" and Sup.get().status == "open", row.reasons
    assert any("2 addresses" in r and "no Sender" in r for r in row.reasons), row.reasons


def test_unreadable_from_is_refused_with_the_reason(world, smtp_sink):
    raw = make_reply(request(smtp_sink), "plan: evil").replace(
        b"From: Alice Smith <alice@example.com>", b"From: :;<>,,@@ <alice@example.com>")
    row = receive(world, raw)
    assert row.status == "refused" and Sup.get().status == "open", row.reasons
    assert any("From header could not be read" in r for r in row.reasons), row.reasons


def test_control_one_from_with_a_quoted_comma_is_applied(world, smtp_sink):
    raw = make_reply(request(smtp_sink), "plan: genuine",
                     sender='"Smith, Alice" <Alice@Example.com>')
    row = receive(world, raw)
    assert row.status == "applied", row.reasons


# --- 3. a refused twin never shadows the genuine reply's Message-ID ---

RELAYED = b"Received: from mx.example by mailsup; Wed, 25 Nov 2026 07:00:01 +0000\r\n"


def test_message_id_squatting_does_not_shadow_the_real_reply(world, smtp_sink):
    mid = "<real-reply-1@client.example>"
    squat = make_reply(request(smtp_sink), "plan: squat", to="sup@mailsup.test",
                       thread=False, message_id=mid)
    assert receive(world, squat).status == "refused"
    row = receive(world, make_reply(request(smtp_sink), "plan: the real one", message_id=mid))
    assert row.status == "applied", row.reasons
    assert Sup.get().status != "open"


def test_control_an_applied_reply_through_a_second_door_is_a_duplicate(world, smtp_sink):
    raw = make_reply(request(smtp_sink), "plan: once", message_id="<once@client.example>")
    assert receive(world, raw).status == "applied"
    row = receive(world, RELAYED + raw)
    assert (row.status, row.kind) == ("ignored", "duplicate")


def test_control_a_refused_reply_of_the_same_sender_is_answered_once(world, smtp_sink):
    raw = make_reply(request(smtp_sink), "scheduling: part day", message_id="<np@client.example>")
    assert receive(world, raw).status == "refused"  # no plan: one refusal mail
    before = len(smtp_sink.to("alice@example.com"))
    row = receive(world, RELAYED + raw)
    assert (row.status, row.kind) == ("ignored", "duplicate")
    assert len(smtp_sink.to("alice@example.com")) == before
