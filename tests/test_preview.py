"""`mailsup preview` renders every email mailsup sends, without sending it."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from mailsup.cli.preview import KINDS, preview
from mailsup.jobs.tick import tick
from mailsup.models import InboundMessage, OutboundMessage, Sup
from mailsup.testing import at
from mailsup.testing.replies import make_reply
from tests.support.directory_samples import TWO_ZONES
from tests.support.helpers import load_directory


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_renders_text_and_html(make_settings, tmp_path, kind):
    settings = make_settings()
    load_directory(tmp_path, TWO_ZONES)
    rendered = preview(settings, kind, "alice@example.com", "acme", at("2026-11-25T07:00"))
    assert rendered.subject and rendered.text.strip() and "<html" in rendered.html
    assert OutboundMessage.select().count() == 0  # nothing queued, nothing sent


def test_preview_escapes_html(make_settings, tmp_path):
    settings = make_settings()
    load_directory(tmp_path, TWO_ZONES.replace("Alice Smith", "<script>x</script> Smith"))
    rendered = preview(settings, "sup_request", "alice@example.com", "acme",
                       at("2026-11-25T07:00"))
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html


# --- preview is what is sent -------------------------------------------------

def _sent(kind: str, to: str) -> tuple[str, str, str]:
    """(subject, text, html) of the last ``kind`` mail queued to ``to``."""
    row = (OutboundMessage.select().where(OutboundMessage.kind == kind)
           .order_by(OutboundMessage.id.desc()))
    row = next(r for r in row if to in r.recipients)
    html = message_from_bytes(bytes(row.raw), policy=policy.default).get_body(("html",))
    return row.subject, row.text_body, html.get_content()


def _same(rendered, sent) -> None:
    assert (rendered.subject, rendered.text, rendered.html) == sent


def test_preview_renders_every_kind_exactly_as_it_is_sent(make_settings, smtp_sink, tmp_path):
    """For each kind: preview it, then let the real path send it, and compare.

    The answers to replies are previewed with ``--reply`` (the pipeline run in a
    transaction that is rolled back), before the same bytes are delivered.
    """
    settings = make_settings(smtp_sink.port)
    load_directory(tmp_path, TWO_ZONES)
    seen = set()

    def check(kind, developer, now, reply=None, to=None, after=False):
        """``after``: preview once the real path ran (a SUP mail is about the SUP it made)."""
        rendered = None if after else preview(settings, kind, developer, "acme", now, reply)
        if reply is not None:
            (ctx,) = deliver(settings, reply, now)
            assert ctx.status in ("applied", "refused"), ctx.reasons
        else:
            tick(settings, now)
        rendered = rendered or preview(settings, kind, developer, "acme", now)
        stored_kind = "refusal" if kind in ("reply_to_sup_email", "sup_closed") else kind
        _same(rendered, _sent(stored_kind, to or developer))
        seen.add(kind)

    check("sup_request", "alice@example.com", at("2026-11-25T05:00"), after=True)
    request = smtp_sink.to("alice@example.com")[-1]
    morning = at("2026-11-25T06:00")
    check("help", "alice@example.com", morning, make_reply(request, "help", quote=False))
    check("refusal", "alice@example.com", morning, make_reply(request, "scheduling: full day"))
    check("reply_to_sup_email", "alice@example.com", morning,
          make_reply(request, "plan: the subject is all I kept", to="sup@mailsup.test",
                     thread=False))
    check("receipt", "alice@example.com", morning, make_reply(
        request, "plan: ship /v2/orders\nscheduling: full day\nblockers: staging is down"))
    check("away", "alice@example.com", morning, make_reply(request, "away 24 Dec - 1 Jan"))
    check("alias_notice", "alice@example.com", morning, make_reply(
        request, "plan: on the train", sender="Alice <alice.phone@mobile.example>"))
    notice = message_from_bytes(bytes(OutboundMessage.get(kind="alias_notice").raw),
                                policy=policy.default)
    check("alias_answer", "alice@example.com", morning, make_reply(notice, "No, not me"))
    _same(preview(settings, "escalation", "alice@example.com", "acme", morning),
          _sent("escalation", "dan@example.com"))
    seen.add("escalation")
    escalation = message_from_bytes(bytes(OutboundMessage.get(kind="escalation").raw),
                                    policy=policy.default)
    check("escalation_answer", "alice@example.com", morning,
          make_reply(escalation, "On it: ops are restoring staging.",
                     sender="Dan Delivery <dan@example.com>"), to="dan@example.com")
    _same(preview(settings, "blocker_reply", "alice@example.com", "acme", morning),
          _sent("blocker_reply", "alice@example.com"))
    seen.add("blocker_reply")
    check("team_digest", "alice@example.com", at("2026-11-25T09:30"))  # 10:30 in Berlin
    check("hr_digest", "alice@example.com", at("2026-11-25T10:00"), to="hana@example.com")
    digest = smtp_sink.to("hana@example.com")[-1]
    check("command_results", "alice@example.com", at("2026-11-25T10:05"),
          make_reply(digest, "reviewed\n\nThanks, Hana", sender="Hana HR <hana@example.com>"),
          to="hana@example.com")
    tick(settings, at("2026-11-25T11:00"))  # Bob's 06:00 in New York
    check("nag", "bob@example.com", at("2026-11-25T14:30"), after=True)
    bob_request = next(m for m in smtp_sink.to("bob@example.com")
                       if "stand-up" in str(m["Subject"]))
    deliver(settings, make_reply(bob_request, "plan: nobody reviews this",
                                 sender="Bob <bob@example.com>"), at("2026-11-25T15:00"))
    # No GitHub token: overdue reviews go by mail, at HR's digest time after the SLA.
    check("overdue_reviews", "bob@example.com", at("2026-11-27T10:00"), to="hana@example.com")
    # Dan's summary of the week of 23 November, on his next Monday (Friday's SUP is
    # missed by then: the tick before it says so).
    tick(settings, at("2026-11-30T10:29"))
    check("weekly_summary", "alice@example.com", at("2026-11-30T10:30"), to="dan@example.com")
    # A reply to the SUP mail of 25 November, past [mailsup] token_days (14).
    check("sup_closed", "alice@example.com", at("2026-12-14T10:00"),
          make_reply(request, "plan: a very late answer"))
    check_sign_in(settings)
    seen.add("sign_in")
    assert seen == set(KINDS)


def check_sign_in(settings) -> None:
    """The sign-in mail as /login queues it; only its one-time token differs from the preview."""
    from mailsup.cli.preview import EXAMPLE_SIGN_IN_TOKEN
    from mailsup.web.app import create_app
    from tests.support.web import Browser

    now = at("2026-11-25T15:00")
    link = Browser(create_app(settings, clock=lambda: now, send_soon=lambda: None)) \
        .ask_link("alice@example.com")
    token = link.rsplit("/", 1)[1]
    rendered = preview(settings, "sign_in", "alice@example.com", "acme", now)
    subject, text, html = _sent("sign_in", "alice@example.com")
    assert rendered.subject == subject
    assert rendered.text.replace(EXAMPLE_SIGN_IN_TOKEN, token) == text
    assert rendered.html.replace(EXAMPLE_SIGN_IN_TOKEN, token) == html


def deliver(settings, raw, now):
    from mailsup.inbound import runner
    from mailsup.inbound.store import store_raw

    stored = store_raw(raw, "cli", now)
    return [runner.process(settings, runner.claim_row(stored.row.id, now), now)]


def test_preview_of_a_reply_keeps_nothing(make_settings, smtp_sink, tmp_path):
    settings = make_settings(smtp_sink.port)
    load_directory(tmp_path, TWO_ZONES)
    tick(settings, at("2026-11-25T05:00"))
    request = smtp_sink.to("alice@example.com")[-1]
    before = (InboundMessage.select().count(), OutboundMessage.select().count())
    rendered = preview(settings, "receipt", "alice@example.com", "acme", at("2026-11-25T06:00"),
                       make_reply(request, "plan: only a preview"))
    assert "only a preview" in rendered.text
    assert (InboundMessage.select().count(), OutboundMessage.select().count()) == before
    assert Sup.get().status == "open"
