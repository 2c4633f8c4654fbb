"""Findings of the security review, each kept as a test so it stays fixed."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from mailsup import tokens
from mailsup.inbound import runner
from mailsup.inbound.store import store_raw
from mailsup.jobs.tick import tick
from mailsup.models import InboundMessage, OutboundMessage, Sup
from mailsup.outbound import sender
from mailsup.testing import at
from mailsup.testing.replies import make_reply
from tests.support.directory_samples import TWO_ZONES
from tests.support.helpers import load_directory

NOW = at("2026-11-25T07:00")


@pytest.fixture
def world(settings, tmp_path, smtp_sink):
    load_directory(tmp_path, TWO_ZONES)
    tick(settings, at("2026-11-25T05:00"))
    return settings


def receive(settings, raw, now=NOW, **kwargs):
    stored = store_raw(raw, "smtp", now, **kwargs)
    runner.process_pending(settings, now)
    sender.flush(settings, now)
    return InboundMessage.get_by_id(stored.row.id)


def request(sink):
    return [m for m in sink.to("alice@example.com") if "stand-up" in str(m["Subject"])][0]


def plain(sender_header, to, subject, body, **headers) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender_header, to, subject
    msg["Message-ID"] = f"<{abs(hash(body))}@x.example>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def test_fake_bounce_cannot_suppress_a_pending_mail(settings, tmp_path, smtp_sink):
    load_directory(tmp_path, TWO_ZONES)
    smtp_sink.stop()
    tick(settings, at("2026-11-25T05:00"))  # the SUP mail is pending (relay down)
    row = OutboundMessage.get()
    forged = plain("MAILER-DAEMON@evil.example", f"sup+bounce-{row.id}@mailsup.test",
                   "Undelivered", "failed")
    signed = tokens.reply_address(settings.reply_address, tokens.sign(settings.secret, "b",
                                                                       row.id))
    also_forged = plain("MAILER-DAEMON@evil.example", signed, "Undelivered", "no DSN")
    receive(settings, forged, envelope_from="")
    receive(settings, also_forged, envelope_from="")
    assert OutboundMessage.get_by_id(row.id).status == "pending"
    smtp_sink.start()
    tick(settings, at("2026-11-25T07:30"))
    assert len(smtp_sink.to("alice@example.com")) == 1


def test_out_of_office_to_the_return_path_marks_away(world, smtp_sink):
    mail = request(smtp_sink)
    raw = plain("Alice Smith <alice@example.com>", mail.mail_from,
                "Automatic reply: stand-up", "I am away.", Auto_Submitted="auto-replied")
    row = receive(world, raw, envelope_from="")
    assert row.kind == "out_of_office"
    assert Sup.get().away is True
    assert OutboundMessage.get(OutboundMessage.kind == "sup_request").status == "sent"


def test_ambiguous_from_is_no_sender(world, smtp_sink):
    raw = make_reply(request(smtp_sink), "plan: evil",
                     sender="alice@example.com <mallory@evil.example>")
    row = receive(world, raw)
    assert row.status == "refused" and Sup.get().status == "open"


def test_spoofed_mail_does_not_use_up_a_persons_answers(world, smtp_sink):
    for i in range(6):
        receive(world, plain("Alice Smith <alice@example.com>", "sup@mailsup.test",
                             f"spoof {i}", "hello"))
    before = len(smtp_sink.to("alice@example.com"))
    receive(world, make_reply(request(smtp_sink), "scheduling: full day"))  # no plan
    answers = smtp_sink.to("alice@example.com")[before:]
    assert len(answers) == 1 and "NOT recorded" in answers[0].text


def test_huge_sup_id_in_a_command_is_an_error_line(world, smtp_sink):
    from mailsup.inbound.commands.base import _SUP_ID

    assert _SUP_ID.match("99999999999999999999") is None


def test_late_answer_to_an_older_sup_does_not_snapshot_twice(make_settings, smtp_sink,
                                                             github_double, tmp_path):
    github_double.add_repo("acme/api")
    settings = make_settings(smtp_sink.port, extra=f"""
        [github]
        token = test-token
        base_url = {github_double.base_url}
        """)
    load_directory(tmp_path, TWO_ZONES)
    tick(settings, at("2026-11-24T05:00"))  # Tuesday's SUP, left open
    github_double.add_commit("acme/api", "c" * 40, "alice", "work", at("2026-11-24T12:00"))
    tick(settings, at("2026-11-25T05:00"))  # Wednesday's SUP
    tue, wed = [m for m in smtp_sink.to("alice@example.com") if "stand-up" in str(m["Subject"])
                and not str(m["Subject"]).startswith(("Re:", "Reminder"))]
    receive(settings, make_reply(wed, "plan: wednesday"), now=at("2026-11-25T06:00"))
    receive(settings, make_reply(tue, "plan: tuesday, late"), now=at("2026-11-25T06:10"))
    shas = [c["sha"] for s in Sup.select() for r in (s.footprint or {}).get("repos", {}).values()
            for c in r.get("commits", [])]
    assert shas.count("c" * 40) == 1


def test_retry_force_does_not_repeat_or_undo(world, smtp_sink):
    from mailsup.inbound.runner import retry

    original = request(smtp_sink)
    first = receive(world, make_reply(original, "plan: v1"), now=at("2026-11-25T07:00"))
    receive(world, make_reply(original, "plan: v2"), now=at("2026-11-25T07:10"))
    ctx = retry(world, InboundMessage.get_by_id(first.id), at("2026-11-25T07:20"))
    assert ctx.status == "ignored" and Sup.get().plan == "v2"


def test_reviewed_covers_only_what_the_digest_showed(world, smtp_sink):
    original = request(smtp_sink)
    receive(world, make_reply(original, "plan: shown to HR"), now=at("2026-11-25T07:00"))
    tick(world, at("2026-11-25T10:00"))  # the HR digest
    digest = [m for m in smtp_sink.to("hana@example.com") if "to review" in str(m["Subject"])][0]
    receive(world, make_reply(original, "plan: changed after the digest"),
            now=at("2026-11-25T10:10"))
    receive(world, make_reply(digest, "reviewed", sender="Hana HR <hana@example.com>"),
            now=at("2026-11-25T10:20"))
    sup = Sup.get()
    assert sup.status == "submitted"  # HR never saw the new plan
    tick(world, at("2026-11-26T10:00"))
    latest = [m for m in smtp_sink.to("hana@example.com") if "to review" in str(m["Subject"])
              and not str(m["Subject"]).startswith("Re:")][-1]
    assert "changed after the digest" in latest.text
