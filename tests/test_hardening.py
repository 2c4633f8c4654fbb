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


# --- 4. per-message bounds: quarantined at once with the reason, the pipeline goes on ---

def _nested(depth: int) -> bytes:
    head = b"From: Alice Smith <alice@example.com>\nTo: sup@mailsup.test\nSubject: deep\n"
    parts = b"plan: deep\n"
    for level in range(depth):
        b = f"b{level}".encode()
        parts = (b"Content-Type: multipart/mixed; boundary=" + b + b"\n\n--" + b + b"\n"
                 + (parts if level else b"Content-Type: text/plain\n\n" + parts)
                 + b"\n--" + b + b"--\n")
    return head + parts


def _costly(shape: str, reply: bytes) -> bytes:
    head, _, body = reply.partition(b"\n\n")
    if shape == "newlines":
        return head + b"\n\nplan: x\n" + b"\n" * 300_000
    if shape == "recipients":
        cc = b", ".join(b"sup+s%d-abcdefghijklmnop@mailsup.test" % i for i in range(150))
        return head + b"\nCc: " + cc + b"\n\n" + body
    if shape == "encoded_subject":
        words = b" ".join(b"=?utf-8?q?a=C3=A9?=" for _ in range(1500))
        return head.replace(b"\nSubject:", b"\nSubject: " + words + b"\nX-Was:", 1) + b"\n\n" + body
    if shape == "header_count":
        return head + b"".join(b"\nX-Junk-%d: x" % i for i in range(600)) + b"\n\n" + body
    if shape == "mime_depth":
        return _nested(12)
    if shape == "html":
        return (head.replace(b"text/plain", b"text/html") + b"\n\n<p>plan: x</p>"
                + b"<b>a</b>" * 300_000 + b"\n")
    if shape == "text_lines":
        return head + b"\n\nplan: x\n" + b"y\n" * 60_000
    raise AssertionError(shape)


@pytest.mark.parametrize("shape", ["newlines", "recipients", "encoded_subject", "header_count",
                                   "mime_depth", "html", "text_lines"])
def test_costly_message_is_quarantined_at_once_and_the_pipeline_goes_on(
        sqlite_settings, smtp_sink, tmp_path, shape):
    import time

    load_directory(tmp_path, TWO_ZONES)
    tick(sqlite_settings, at("2026-11-25T05:00"))
    raw = _costly(shape, make_reply(request(smtp_sink), "plan: costly"))
    started = time.monotonic()
    row = receive(sqlite_settings, raw, source="cli")
    took = time.monotonic() - started
    assert (row.status, row.kind) == ("quarantined", "too_costly"), (row.status, row.reasons)
    assert row.reasons and row.reasons[0].startswith("not read: "), row.reasons
    assert took < 2, f"{shape} took {took:.1f} s"
    # Control: the genuine reply right behind it is applied.
    genuine = receive(sqlite_settings, make_reply(request(smtp_sink), "plan: genuine"))
    assert genuine.status == "applied", genuine.reasons


def test_control_a_reply_with_a_big_attachment_is_within_bounds(world, smtp_sink):
    from email import message_from_bytes, policy

    msg = message_from_bytes(make_reply(request(smtp_sink), "plan: with a screenshot"),
                             policy=policy.default)
    msg.add_attachment(bytes(range(256)) * 8192, maintype="image", subtype="png",
                       filename="screen.png")  # 2 MB
    row = receive(world, msg.as_bytes())
    assert row.status == "applied", row.reasons


def test_message_over_the_wall_clock_budget_is_rolled_back_and_quarantined(
        make_settings, smtp_sink, tmp_path):
    settings = make_settings(smtp_sink.port, extra="[inbound]\nmessage_seconds = 0\n")
    load_directory(tmp_path, TWO_ZONES)
    tick(settings, at("2026-11-25T05:00"))
    before = len(smtp_sink.to("alice@example.com"))
    row = receive(settings, make_reply(request(smtp_sink), "plan: slow"))
    assert (row.status, row.kind) == ("quarantined", "too_costly"), row.reasons
    assert "message_seconds" in row.reasons[0]
    assert Sup.get().status == "open" and len(smtp_sink.to("alice@example.com")) == before


# --- 9. bidi and control characters never reach a mail or a page ---

RLO, PDF, LRI = "\u202e", "\u202c", "\u2066"
BIDI_NAME = TWO_ZONES.replace('name = "Alice Smith"', f'name = "Alice {RLO}htimS"')


def _everything(mail) -> str:
    parts = [str(mail["Subject"]), str(mail["To"]), mail.text]
    html = mail.message.get_body(("html",))
    parts.append(html.get_content() if html is not None else "")
    return "\n".join(parts)


def test_bidi_overrides_in_a_name_and_a_reply_do_not_reach_the_mails(settings, tmp_path,
                                                                      smtp_sink):
    load_directory(tmp_path, BIDI_NAME)
    tick(settings, at("2026-11-25T05:00"))
    sent = request(smtp_sink)
    assert RLO not in _everything(sent)
    row = receive(settings, make_reply(sent, f"plan: ship {RLO}moc.live@bob{PDF} today\x07\n"
                                       f"blockers: waiting on {LRI}ops"))
    assert row.status == "applied", row.reasons
    receipt = [m for m in smtp_sink.to("alice@example.com") if m is not sent][-1]
    everything = _everything(receipt)
    assert not any(c in everything for c in (RLO, PDF, LRI, "\x07")), everything
    # Control: the words themselves are all still there, in the order they were typed.
    assert "ship moc.live@bob today" in receipt.text
    escalation = [m for m in smtp_sink.messages if "Blocker:" in str(m["Subject"])]
    assert escalation and any("Alice htimS" in _everything(m) for m in escalation)
    for mail in smtp_sink.messages:
        assert not any(c in _everything(mail) for c in (RLO, PDF, LRI)), mail["Subject"]


def test_control_right_to_left_text_is_kept_as_written(world, smtp_sink):
    row = receive(world, make_reply(request(smtp_sink), "plan: לתקן את ההתחברות اليوم"))
    assert row.status == "applied", row.reasons
    receipt = smtp_sink.to("alice@example.com")[-1]
    assert "לתקן את ההתחברות اليوم" in receipt.text


def test_bidi_overrides_in_a_reply_do_not_reach_the_pages(make_settings, tmp_path):
    from mailsup.web.app import create_app
    from tests.support.web import MANAGEMENT, Browser, build
    from tests.support.web import reply as web_reply

    settings = make_settings(extra="[web]\nlisten =\nbase_url = http://pages.test\n",
                             mailsup_extra=MANAGEMENT)
    world = build(settings, tmp_path, days=2)
    sup = world.sup("alice")
    web_reply(settings, sup, f"plan: fix {RLO}nigol{PDF} flow", world.now)
    app = create_app(settings, clock=lambda: world.now, send_soon=lambda: None)
    page = Browser(app).sign_in("alice@example.com").get(f"/sups/{sup.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "fix nigol flow" in body, body[:2000]
    assert RLO not in body and PDF not in body


# --- 7. files 0600 and folders 0700 whatever the umask; init warns about an open file ---

def _mode(path) -> int:
    import stat
    return stat.S_IMODE(path.stat().st_mode)


def test_database_outbox_and_mail_are_private_whatever_the_umask(tmp_path):
    import os

    from mailsup import config as config_mod
    from mailsup import database
    from mailsup.testing.config import write_config

    old = os.umask(0)  # the worst an operator's shell can hand us
    try:
        path = write_config(tmp_path / "mailsup.ini", f"sqlite:///{tmp_path}/data/mailsup.db",
                            None)
        settings = config_mod.load(str(path))
        database.bind(settings.database)
        database.migrate()
        load_directory(tmp_path, TWO_ZONES)
        tick(settings, at("2026-11-25T05:00"))  # no relay: mail goes to the outbox folder
        wal = tmp_path / "data" / "mailsup.db-wal"
        assert wal.exists() and _mode(wal) == 0o600  # while open: SQLite copies the mode
    finally:
        os.umask(old)
        database.db.obj.close()
    mails = list(settings.smtp.outbox_dir.glob("*.eml"))
    assert mails
    assert _mode(tmp_path / "data") == 0o700
    assert _mode(tmp_path / "data" / "mailsup.db") == 0o600
    assert _mode(settings.smtp.outbox_dir) == 0o700
    assert {_mode(m) for m in mails} == {0o600}


def _cli(*args, cwd, umask=0o022):
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "mailsup", *args], cwd=cwd, text=True,
                          capture_output=True, preexec_fn=lambda: os.umask(umask), timeout=120)


def test_init_warns_about_an_existing_world_readable_config(tmp_path):
    from mailsup.testing.config import write_config

    ini = write_config(tmp_path / "mailsup.ini", f"sqlite:///{tmp_path}/mailsup.db", None)
    ini.chmod(0o644)
    result = _cli("--config", str(ini), "init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "readable by every user" in result.stderr and "chmod 600" in result.stderr
    assert str(ini) in result.stderr


def test_control_init_writes_private_files_and_says_nothing_about_them(tmp_path):
    result = _cli("--config", "mailsup.ini", "init", cwd=tmp_path, umask=0)
    assert result.returncode == 0, result.stderr
    assert "readable" not in result.stderr
    assert _mode(tmp_path / "mailsup.ini") == 0o600 and _mode(tmp_path / "mailsup.db") == 0o600


# --- 8. secrets that resist an offline guess; tokens that carry their day and expire ---

@pytest.mark.parametrize("secret", ["12345678", "aaaaaaaa", "change-me-now",
                                    "long-enough-secret", "a" * 40, "ab" * 20,
                                    "01234567890123456789012345678901"])
def test_weak_secret_is_refused_naming_the_command_that_makes_a_good_one(tmp_path, secret):
    from mailsup import config as config_mod
    from mailsup.testing.config import write_config

    path = write_config(tmp_path / "mailsup.ini", "sqlite:///x.db", None, secret=secret)
    with pytest.raises(config_mod.ConfigError) as refused:
        config_mod.load(str(path))
    assert "[mailsup] secret" in str(refused.value)
    assert "secrets.token_urlsafe(32)" in str(refused.value)


@pytest.mark.parametrize("maker", ["token_urlsafe", "token_hex"])
def test_control_a_generated_secret_is_accepted(tmp_path, maker):
    import secrets

    from mailsup import config as config_mod
    from mailsup.testing.config import write_config

    secret = getattr(secrets, maker)(32)
    path = write_config(tmp_path / "mailsup.ini", "sqlite:///x.db", None, secret=secret)
    assert config_mod.load(str(path)).secret == secret


def _old_style(settings, sup_id: int) -> str:
    """The token format before issue 14 (no day): still in people's mailboxes."""
    import base64
    import hashlib
    import hmac

    digest = hmac.new(settings.secret.encode(), f"mailsup:s:{sup_id}".encode(),
                      hashlib.sha256).digest()
    mac = base64.b32encode(digest).decode().lower()[:16]
    local, _, domain = settings.reply_address.partition("@")
    return f"{local}+s{sup_id}-{mac}@{domain}"


def test_the_reply_address_carries_the_sups_day(world, smtp_sink):
    from mailsup import tokens
    from mailsup.testing.replies import reply_to_address

    sup = Sup.get()
    raw = tokens.token_from_address(world.reply_address, reply_to_address(request(smtp_sink)))
    assert tokens.verify(world.secret, raw) == tokens.Token("s", sup.id, sup.day)
    assert len(reply_to_address(request(smtp_sink)).partition("@")[0]) <= 64


@pytest.mark.parametrize("old_format", [False, True], ids=["token", "old-token"])
def test_a_reply_after_token_days_gets_this_sup_is_closed(world, smtp_sink, old_format):
    to = _old_style(world, Sup.get().id) if old_format else None
    late = at("2026-12-10T07:00")  # the SUP's day was 25 Nov: 15 days
    before = len(smtp_sink.to("alice@example.com"))
    row = receive(world, make_reply(request(smtp_sink), "plan: late", to=to, thread=False),
                  now=late)
    assert (row.status, row.kind) == ("refused", "expired"), row.reasons
    assert Sup.get().plan is None
    (answer,) = smtp_sink.to("alice@example.com")[before:]
    assert "this SUP is closed" in answer.text and "14 days" in answer.text


@pytest.mark.parametrize("old_format", [False, True], ids=["token", "old-token"])
def test_control_a_reply_within_token_days_is_applied(world, smtp_sink, old_format):
    to = _old_style(world, Sup.get().id) if old_format else None
    row = receive(world, make_reply(request(smtp_sink), "plan: in time", to=to, thread=False),
                  now=at("2026-12-08T07:00"))
    assert row.status == "applied", row.reasons



# --- 10. config typos refused with "did you mean"; every directory error at once; sizes ---

@pytest.mark.parametrize("mailsup_extra, text, needles", [
    ("reply_adress = sup@mailsup.test", "",
     ["[mailsup] reply_adress", "did you mean reply_address?"]),
    ("", "[smpt]\nhost = relay.example\n", ["[smpt]", "did you mean [smtp]?"]),
    ("", "[inbound]\nrequire_dmark = yes\nlisen = 127.0.0.1:25\n",
     ["[inbound] require_dmark", "did you mean require_dmarc?", "[inbound] lisen",
      "did you mean listen?"]),
], ids=["key", "section", "two-keys"])
def test_unknown_config_sections_and_keys_are_refused(tmp_path, mailsup_extra, text, needles):
    from mailsup import config as config_mod
    from mailsup.testing.config import write_config

    path = write_config(tmp_path / "mailsup.ini", "sqlite:///x.db", None, extra=text,
                        mailsup_extra=mailsup_extra)
    with pytest.raises(config_mod.ConfigError) as refused:
        config_mod.load(str(path))
    for needle in needles:
        assert needle in str(refused.value), str(refused.value)


def test_control_every_packaged_key_is_known(tmp_path):
    """A key added to the packaged mailsup.ini is known at once: the list derives from it."""
    from mailsup import config as config_mod

    path = tmp_path / "mailsup.ini"
    text = config_mod.PACKAGED.read_text(encoding="utf-8").replace(
        "secret =  ", "secret = test-secret-Vq3xT8mKp2Lw9Zr4Hn6Bd0Yc", 1)
    path.write_text(text, encoding="utf-8")
    settings = config_mod.load(str(path))
    assert settings.smtp.port == 587


BAD_DIRECTORY = """
[[people]]
email = "alice@example.com"
name = "Alice"
timzone = "Europe/Berlin"

[[people]]
email = "not-an-address"
name = "Bob"
timezone = "UTC"

[[people]]
email = "carol@example.com"
name = "Carol"
timezone = "Mars/Olympus"
"""


def test_the_directory_loader_reports_every_error_of_a_file_at_once(settings, tmp_path):
    from mailsup.directory import DirectoryError

    with pytest.raises(DirectoryError) as refused:
        load_directory(tmp_path, BAD_DIRECTORY)
    text = str(refused.value)
    assert "timzone" in text and "did you mean timezone" in text, text
    assert "not-an-address" in text and "Mars/Olympus" in text, text


def test_a_value_longer_than_its_column_names_the_field(settings, tmp_path):
    from mailsup.directory import DirectoryError

    long_team = TWO_ZONES.replace('name = "Platform"', f'name = "{"P" * 10_000}"')
    with pytest.raises(DirectoryError) as refused:
        load_directory(tmp_path, long_team)
    text = str(refused.value)
    assert "teams[0].name" in text and "10,000 characters" in text and "255" in text, text


def test_control_a_clean_directory_still_loads(settings, tmp_path):
    report = load_directory(tmp_path, TWO_ZONES.replace('name = "Platform"',
                                                        f'name = "{"P" * 255}"'))
    assert report.created
