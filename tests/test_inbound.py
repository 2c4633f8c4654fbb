"""The inbound pipeline through its doors: apply, refuse, ignore — and answer right."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import aiosmtplib
import pytest

from mailsup import database
from mailsup.inbound import runner
from mailsup.inbound.doors.pipe import EX_OK, deliver
from mailsup.inbound.doors.smtp import make_controller
from mailsup.inbound.store import store_raw
from mailsup.jobs.tick import tick
from mailsup.models import Effect, InboundMessage, OutboundMessage, Sup
from mailsup.outbound import sender
from mailsup.testing import at, free_port
from mailsup.testing.replies import make_reply
from tests.support.directory_samples import TWO_ZONES
from tests.support.helpers import load_directory

NOW = at("2026-11-25T07:00")


@pytest.fixture
def world(settings, tmp_path, smtp_sink):
    load_directory(tmp_path, TWO_ZONES)
    tick(settings, at("2026-11-25T05:00"))  # Alice's SUP goes out
    return settings


def request_of(sink, who="alice@example.com"):
    (mail,) = [m for m in sink.to(who) if "stand-up" in str(m["Subject"])
               and not str(m["Subject"]).startswith(("Re:", "Reminder"))]
    return mail


def receive(settings, raw, now=NOW, **kwargs):
    stored = store_raw(raw, "cli", now, **kwargs)
    (ctx,) = runner.process_pending(settings, now) or [None]
    sender.flush(settings, now)
    return InboundMessage.get_by_id(stored.row.id), ctx


def escalations(sink):
    return [m for m in sink.messages if "Blocker:" in str(m["Subject"])]


def answers_to(sink, who):
    return [m for m in sink.to(who) if "stand-up" not in str(m["Subject"])
            or str(m["Subject"]).startswith("Re:")]


# --- applying ---------------------------------------------------------------

def test_valid_reply_is_applied_with_receipt(world, smtp_sink):
    raw = make_reply(request_of(smtp_sink), "plan: ship the login fix\nscheduling: part day")
    row, _ = receive(world, raw)
    assert row.status == "applied" and row.kind == "sup_reply"
    sup = Sup.get_by_id(row.sup_id)
    assert sup.status == "submitted" and sup.plan == "ship the login fix"
    assert sup.scheduling == "part day" and sup.submitted_at is not None
    assert sup.window_end == sup.submitted_at
    (receipt,) = [m for m in smtp_sink.to("alice@example.com") if "Re:" in str(m["Subject"])]
    assert "ship the login fix" in receipt.text and "part day" in receipt.text
    assert receipt["In-Reply-To"] == row.message_id
    assert escalations(smtp_sink) == []  # no blockers, no escalation


def test_blockers_are_escalated_once(world, smtp_sink):
    raw = make_reply(request_of(smtp_sink), "plan: pair with Bob\nblockers: staging is down")
    receive(world, raw)
    runner.retry(world, InboundMessage.get(), NOW)  # a second run of the same message
    sender.flush(world, NOW)
    (mail,) = escalations(smtp_sink)
    assert mail.rcpt_tos == ["dan@example.com"]
    assert "staging is down" in mail.text and "Alice Smith" in mail.text
    assert "Acme Corp" in mail.text
    assert Effect.select().where(Effect.kind == "escalation").count() == 1


def test_missing_plan_is_explained_and_sup_stays_open(world, smtp_sink):
    raw = make_reply(request_of(smtp_sink), "scheduling: full day")
    row, _ = receive(world, raw)
    assert row.status == "refused" and bytes(row.raw) == raw
    sup = Sup.get_by_id(row.sup_id)
    assert sup.status == "open" and sup.plan is None
    (answer,) = [m for m in smtp_sink.to("alice@example.com") if "Re:" in str(m["Subject"])]
    assert "NOT recorded" in answer.text and "plan" in answer.text.lower()
    assert "full day" in answer.text  # what was understood
    assert answer["Auto-Submitted"] == "auto-replied"


def test_later_reply_replaces_then_amends_after_review(world, smtp_sink):
    original = request_of(smtp_sink)
    receive(world, make_reply(original, "plan: first plan"))
    sup = Sup.get()
    first_submitted = sup.submitted_at
    receive(world, make_reply(original, "plan: better plan"), now=at("2026-11-25T07:30"))
    sup = Sup.get_by_id(sup.id)
    assert sup.plan == "better plan" and sup.submitted_at == first_submitted
    Sup.update(status="reviewed").where(Sup.id == sup.id).execute()
    receive(world, make_reply(original, "plan: amended plan"), now=at("2026-11-25T08:00"))
    sup = Sup.get_by_id(sup.id)
    assert sup.plan == "better plan" and sup.status == "reviewed"
    assert sup.amendments[0]["fields"]["plan"] == "amended plan"


def test_unavailable_skips_the_next_business_day(world, smtp_sink):
    receive(world, make_reply(request_of(smtp_sink), "plan: nothing\nscheduling: PTO"))
    assert Sup.get(Sup.developer_id == 1).scheduling == "unavailable"
    before = len(smtp_sink.to("alice@example.com"))
    tick(world, at("2026-11-26T05:00"))
    nxt = Sup.get((Sup.developer_id == 1) & (Sup.day == "2026-11-26"))
    assert nxt.status == "skipped" and "unavailable" in nxt.skip_reason
    tick(world, at("2026-11-26T09:00"))
    assert len(smtp_sink.to("alice@example.com")) == before  # no SUP mail, no nag


def test_reply_to_the_nag_threads_to_the_sup(world, smtp_sink):
    tick(world, at("2026-11-25T08:30"))
    nag = [m for m in smtp_sink.to("alice@example.com") if "Reminder" in str(m["Subject"])][0]
    raw = make_reply(nag, "plan: answer the nag", quote=False)
    row, _ = receive(world, raw, now=at("2026-11-25T08:40"))
    assert row.status == "applied"


# --- authenticity -----------------------------------------------------------

@pytest.mark.parametrize("sender_header", [
    "Mallory <mallory@evil.example>",
    "Alice Smith <mallory@evil.example>",  # forged display name
    '"alice@example.com" <mallory@evil.example>',
])
def test_spoofed_from_is_refused_and_kept(world, smtp_sink, sender_header):
    raw = make_reply(request_of(smtp_sink), "plan: evil plan", sender=sender_header)
    row, _ = receive(world, raw)
    assert row.status == "refused" and "not an address of alice@example.com" in row.reasons[0]
    assert Sup.get(Sup.developer_id == 1).status == "open"
    assert smtp_sink.to("mallory@evil.example") == []


def test_alias_address_is_accepted(world, smtp_sink):
    raw = make_reply(request_of(smtp_sink), "plan: from home",
                     sender="Alice <alice@home.example>")
    row, _ = receive(world, raw)
    assert row.status == "applied"


def test_tampered_token_without_thread_is_not_applied(world, smtp_sink):
    original = request_of(smtp_sink)
    to = original.message["Reply-To"].addresses[0].addr_spec
    local, domain = to.split("@")
    tampered = local[:-1] + ("a" if local[-1] != "a" else "b") + "@" + domain
    row, _ = receive(world, make_reply(original, "plan: x", to=tampered, thread=False))
    assert row.status == "refused" and Sup.get(Sup.developer_id == 1).status == "open"


def test_token_for_another_persons_sup_is_refused(world, smtp_sink):
    tick(world, at("2026-11-25T11:00"))  # Bob's SUP
    bobs = request_of(smtp_sink, "bob@example.com")
    row, _ = receive(world, make_reply(bobs, "plan: hijack"))
    assert row.status == "refused"
    assert Sup.get(Sup.developer_id == 2).status == "open"


def test_subject_reference_alone_gets_please_reply_answer(world, smtp_sink):
    original = request_of(smtp_sink)
    raw = make_reply(original, "plan: via a new mail", to="sup@mailsup.test", thread=False,
                     subject=str(original["Subject"]))
    row, _ = receive(world, raw)
    assert row.status == "refused" and "guessable" in row.reasons[0]
    (answer,) = [m for m in smtp_sink.to("alice@example.com") if "Re:" in str(m["Subject"])]
    assert "reply to the SUP email" in answer.text


def test_hr_looking_commands_from_a_developer_are_not_applied(world, smtp_sink):
    row, _ = receive(world, make_reply(request_of(smtp_sink), "reviewed\nflag 1 lazy"))
    assert row.status == "refused"
    sup = Sup.get(Sup.developer_id == 1)
    assert sup.status == "open" and sup.flags == [] and sup.reviewed_at is None


def test_unknown_sender_without_reference_gets_no_answer(world, smtp_sink):
    before = len(smtp_sink.messages)
    raw = make_reply(request_of(smtp_sink), "hello", sender="x@random.example",
                     to="sup@mailsup.test", thread=False, subject="hi")
    row, _ = receive(world, raw)
    assert row.status == "refused" and len(smtp_sink.messages) == before


# --- automatic mail -----------------------------------------------------------

def test_out_of_office_marks_away_and_is_not_answered_or_nagged(world, smtp_sink):
    raw = make_reply(request_of(smtp_sink), "I am out of the office until Monday.",
                     subject="Automatic reply: stand-up", headers={"Auto-Submitted":
                                                                    "auto-replied"})
    before = len(smtp_sink.messages)
    row, _ = receive(world, raw)
    assert row.status == "ignored" and row.kind == "out_of_office"
    assert Sup.get(Sup.developer_id == 1).away is True
    tick(world, at("2026-11-25T09:00"))
    assert len(smtp_sink.to("alice@example.com")) == 1  # the SUP only: no nag
    assert len(smtp_sink.messages) == before


@pytest.mark.parametrize("headers, subject", [
    ({"Auto-Submitted": "auto-generated"}, None),
    ({"Precedence": "bulk"}, None),
    ({"X-Autoreply": "yes"}, None),
    ({}, "Abwesenheitsnotiz: stand-up"),
    ({}, "Réponse automatique : stand-up"),
    ({"List-Id": "<dev.lists.example>"}, None),
])
def test_automatic_mail_is_never_answered(world, smtp_sink, headers, subject):
    raw = make_reply(request_of(smtp_sink), "no plan here", headers=headers, subject=subject)
    before = len(smtp_sink.messages)
    row, _ = receive(world, raw)
    assert row.status == "ignored"
    assert len(smtp_sink.messages) == before


def test_bounce_marks_the_outbound_message(world, smtp_sink):
    original = request_of(smtp_sink)
    out = OutboundMessage.get(OutboundMessage.message_id == original["Message-ID"])
    dsn = (
        "From: MAILER-DAEMON@relay.example\r\nTo: " + original.mail_from + "\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@relay.example>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;"
        " boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n--b\r\n"
        "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.example\r\n\r\n"
        "Final-Recipient: rfc822; alice@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: "
        + original["Message-ID"] + "\r\n\r\n--b--\r\n").encode()
    before = len(smtp_sink.messages)
    row, _ = receive(world, dsn, envelope_from="", envelope_to=[original.mail_from])
    assert row.status == "ignored" and row.kind == "bounce"
    assert OutboundMessage.get_by_id(out.id).status == "bounced"
    assert len(smtp_sink.messages) == before


def test_refusals_to_the_developer_are_never_rate_limited(world, smtp_sink):
    """Issue 11: a refusal tells a person their reply was not applied, so it always
    goes (the per-address budget, which stopped it after five, now throttles only
    answers to unknown or automatic senders: tests/test_conversation.py)."""
    original = request_of(smtp_sink)
    before = len(smtp_sink.to("alice@example.com"))
    for i in range(12):
        receive(world, make_reply(original, f"scheduling: full day\ndone: web#{900 + i}"))
    answers = len(smtp_sink.to("alice@example.com")) - before
    assert answers == 12
    assert InboundMessage.select().where(InboundMessage.status == "refused").count() == 12


def test_same_message_through_two_doors_is_applied_once(world, smtp_sink):
    raw = make_reply(request_of(smtp_sink), "plan: once")
    receive(world, raw)
    relayed = b"Received: from mx.example by mailsup; Wed, 25 Nov 2026 07:00:01 +0000\r\n" + raw
    row, _ = receive(world, relayed)
    assert row.status == "ignored" and row.kind == "duplicate"
    assert len([m for m in smtp_sink.to("alice@example.com") if "Re:" in str(m["Subject"])]) == 1


# --- doors ------------------------------------------------------------------

def test_cli_door_files_and_stdin(world, smtp_sink, tmp_path):
    original = request_of(smtp_sink)
    path = tmp_path / "reply.eml"
    path.write_bytes(make_reply(original, "plan: from a file"))
    code, results = deliver(world, [str(path)], NOW)
    assert code == EX_OK and results[0].status == "applied"
    code, results = deliver(world, [str(path)], NOW)  # same bytes again
    assert results[0].created is False and InboundMessage.select().count() == 1
    stdin_raw = make_reply(original, "plan: from stdin")
    proc = subprocess.run([sys.executable, "-m", "mailsup", "--config", str(world.path),
                           "inbound", "deliver", "-", "--now", "2026-11-25T07:05:00Z"],
                          input=stdin_raw, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert b"applied" in proc.stdout
    assert Sup.get(Sup.developer_id == 1).plan == "from stdin"


def test_cli_door_tempfails_when_store_is_down(tmp_path):
    (tmp_path / "mailsup.ini").write_text(
        "[mailsup]\ndatabase = postgresql://nobody@127.0.0.1:1/none\n"
        "secret = long-enough-secret-Vq3xT8mKp2Lw9Zr4\n"
        "reply_address = sup@example.com\n")
    proc = subprocess.run([sys.executable, "-m", "mailsup", "--config",
                           str(tmp_path / "mailsup.ini"), "inbound", "deliver", "-"],
                          input=b"Subject: x\r\n\r\nbody\r\n", capture_output=True, timeout=60)
    assert proc.returncode == 75, proc.stderr
    assert b"try again later" in proc.stderr and b"Traceback" not in proc.stderr


def _send(port, raw, rcpt="sup@mailsup.test"):
    async def go():
        return await aiosmtplib.send(raw, hostname="127.0.0.1", port=port,
                                     sender="alice@example.com", recipients=[rcpt])
    return asyncio.run(go())


def test_smtp_door_stores_before_250_and_pipeline_applies(world, smtp_sink):
    original = request_of(smtp_sink)
    port = free_port()
    controller = make_controller(world, clock=lambda: NOW, listen=f"127.0.0.1:{port}")
    controller.start()
    try:
        raw = make_reply(original, "plan: over smtp")
        errors, response = _send(port, raw, rcpt=original.message["Reply-To"].addresses[0]
                                 .addr_spec)
        assert errors == {} and response.startswith("2.0.0")
        row = InboundMessage.get()
        assert row.source == "smtp" and row.envelope_from == "alice@example.com"
        runner.process_pending(world, NOW)
        assert Sup.get(Sup.developer_id == 1).plan == "over smtp"
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            _send(port, raw, rcpt="someone@elsewhere.example")
        with pytest.raises(aiosmtplib.SMTPResponseException) as too_big:
            _send(port, raw + b"x" * (world.inbound.max_message_bytes + 10))
        assert too_big.value.code == 552
    finally:
        controller.stop()


def test_smtp_door_answers_451_when_store_is_down(world, smtp_sink):
    port = free_port()
    controller = make_controller(world, clock=lambda: NOW, listen=f"127.0.0.1:{port}")
    controller.start()
    real = database.db.obj
    try:
        database.bind("postgresql://nobody@127.0.0.1:1/none")
        with pytest.raises(aiosmtplib.SMTPResponseException) as tempfail:
            _send(port, make_reply(request_of(smtp_sink), "plan: later"))
        assert tempfail.value.code == 451
    finally:
        database.db.initialize(real)
        controller.stop()
    assert InboundMessage.select().count() == 0


# --- robustness ---------------------------------------------------------------

def _fuzzed(rng, i: int, good: bytes, pieces: list[bytes]) -> bytes:
    head, _, body = good.partition(b"\n\n")
    kind = i % 6
    if kind == 0:
        raw = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 400)))
    elif kind == 1:
        cut = rng.randint(0, len(good))
        raw = good[:cut] + rng.choice(pieces) * rng.randint(1, 50) + good[cut:]
    elif kind == 2:
        raw = b"Subject: " + b"A" * rng.randint(1000, 100000) + b"\r\n\r\nbody"
    elif kind == 3:
        raw = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 200)))
    elif kind == 4:  # the review's costly shapes, at random sizes around the bounds
        shape = rng.randrange(5)
        if shape == 0:
            raw = head + b"\n\nplan: x\n" + b"\n" * rng.randint(1000, 400_000)
        elif shape == 1:
            cc = b", ".join(b"sup+s%d-abcdefghijklmnop@mailsup.test" % n
                            for n in range(rng.randint(10, 3000)))
            raw = head + b"\nCc: " + cc + b"\n\n" + body
        elif shape == 2:
            words = b" ".join(b"=?utf-8?q?a=C3=A9?=" for _ in range(rng.randint(10, 3000)))
            raw = head + b"\nSubject: " + words + b"\n\n" + body
        elif shape == 3:
            raw = head + b"".join(b"\nX-J: %d" % n for n in range(rng.randint(10, 2000))) \
                + b"\n\n" + body
        else:
            raw = head + b"\n\nplan: x\n" + b"y\n" * rng.randint(100, 40_000)
    else:  # headers that confuse who wrote it
        extra = rng.choice([b"From: Mallory <mallory@evil.example>", b"From: a@b.c, d@e.f",
                            b"Sender: x@y.z", b"Authentication-Results: x; dmarc=pass",
                            b"Message-ID: <dup@fuzz>", b"From: :;<>,,@@", b"Cc: \xff\xfe"])
        raw = head + b"\n" + extra + b"\n\n" + body
    return raw + f"\r\nX-Fuzz: {i}".encode()


def test_fuzzed_malformed_messages_never_escape(sqlite_settings, smtp_sink, tmp_path):
    """A few thousand broken messages through the CLI door (SQLite: the point is the
    parser and pipeline, not the database); none crashes, none takes 2 s."""
    import random
    import time

    world = sqlite_settings
    load_directory(tmp_path, TWO_ZONES)
    tick(world, at("2026-11-25T05:00"))

    rng = random.Random(1234)
    original = request_of(smtp_sink)
    good = make_reply(original, "plan: fuzz")
    pieces = [b"\r\n", b"\n", b":", b"=?utf-8?b?", b"?=", b"--", b"boundary=", b"\x00", b"\xff",
              b"Content-Type: multipart/mixed; boundary=\"x\"\r\n", b"charset=bogus-8",
              b"Content-Transfer-Encoding: base64\r\n", b"=\r\n", b"<", b">", b"\t"]
    statuses, crashed, slowest = {}, 0, (0.0, -1)
    answers_before = OutboundMessage.select().count()
    count = 2400
    for i in range(count):
        path = tmp_path / "fuzz.eml"
        path.write_bytes(_fuzzed(rng, i, good, pieces))
        started = time.monotonic()
        try:
            code, results = deliver(world, [str(path)], NOW)
        except Exception:  # noqa: BLE001 - counted: the door must never raise
            crashed += 1
            continue
        slowest = max(slowest, (time.monotonic() - started, i))
        for result in results:
            statuses[result.status] = statuses.get(result.status, 0) + 1
    stored = InboundMessage.select().count()
    internal = InboundMessage.select().where(InboundMessage.kind == "error").count()
    answered = OutboundMessage.select().count() - answers_before
    print(f"\nfuzz: tried={count} stored={stored} "
          f"quarantined={statuses.get('quarantined', 0)} answered={answered} "
          f"crashed={crashed + internal} slowest={slowest[0]:.2f}s (message {slowest[1]}) "
          f"outcomes {statuses}")
    assert crashed == 0 and internal == 0, "an exception reached the pipeline's safety net"
    assert sum(statuses.values()) == count
    assert "processing" not in statuses and "new" not in statuses
    assert slowest[0] < 2, f"message {slowest[1]} took {slowest[0]:.2f} s"


@pytest.mark.parametrize("results, applied", [
    ("mx.mailsup.test; dmarc=pass header.from=example.com", True),
    ("mx.mailsup.test; dmarc=fail header.from=example.com", False),
    ("evil.example; dmarc=pass header.from=example.com", False),  # not our MTA's verdict
    (None, False),
])
def test_require_dmarc_trusts_only_our_mta(make_settings, smtp_sink, tmp_path, results,
                                           applied):
    settings = make_settings(smtp_sink.port, extra="""
        [inbound]
        require_dmarc = yes
        authserv_id = mx.mailsup.test
        """)
    load_directory(tmp_path, TWO_ZONES)
    tick(settings, at("2026-11-25T05:00"))
    headers = {"Authentication-Results": results} if results else {}
    row, _ = receive(settings, make_reply(request_of(smtp_sink), "plan: signed", headers=headers))
    assert (row.status == "applied") is applied, row.reasons
