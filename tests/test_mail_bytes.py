"""Every mail kind, built the fast way, is the stdlib's bytes and parses cleanly.

``compose.build_bytes`` writes short ASCII headers itself instead of through
the stdlib header registry (the render + enqueue hot path). It promises the
bytes ``compose.build(...).as_bytes()`` gives (``EmailMessage`` under
``policy.default``), boundary aside. Here every kind ``mailsup preview``
knows, with plain and non-ASCII names, is held to that, and parsed back with
``email.policy.default`` and with mail-parser (another parser, another
reading of the RFCs): no defects, the same subject, the same text and HTML.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy

import mailparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailsup import sup as sups
from mailsup.cli.preview import KINDS, preview
from mailsup.jobs.tick import tick
from mailsup.models import OutboundMessage
from mailsup.outbound import compose
from mailsup.testing import at
from tests.support.directory_samples import TWO_ZONES
from tests.support.helpers import load_directory

WHEN = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)
NAMES = {  # the directory as written, and with names no header may carry as they are
    "ascii": TWO_ZONES,
    "unicode": TWO_ZONES.replace("Alice Smith", "Zoë Ångström-Øster, Jr.")
                        .replace('name = "Acme Corp"', 'name = "Café Ünïcode & Söhne GmbH"'),
}
HEADERS = (  # the header shapes the senders use: a SUP mail, an answer in a thread, a digest
    {"reply_to": "sup+s1-abcdefghij@mailsup.test"},
    {"in_reply_to": "<first@mailsup.test>",
     "references": [f"<{'x' * 40}{n}@mailsup.test>" for n in range(4)]},
    {"auto_submitted": "auto-replied", "extra_headers": {"List-Id": "Acme Corp <acme.mailsup>"}},
)


def same_bytes(rendered: compose.Rendered, **headers) -> bytes:
    """The fast bytes, asserted equal to the stdlib's (boundaries made equal)."""
    args = {"sender": "mailsup <sup@mailsup.test>", "to": ["alice@example.com"],
            "message_id": "<m1@mailsup.test>", "date": WHEN} | headers
    fast = compose.build_bytes(rendered, **args)
    stdlib = compose.build(rendered, **args).as_bytes()
    unify = re.compile(rb"={15}\d{19}==")
    assert unify.sub(b"B", fast) == unify.sub(b"B", stdlib)
    return fast


def lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").rstrip("\n").split("\n")


def assert_parses(raw: bytes, rendered: compose.Rendered) -> None:
    message = message_from_bytes(raw, policy=policy.default)
    assert message.defects == [] and all(p.defects == [] for p in message.walk())
    assert str(message["Subject"]) == rendered.subject
    assert message.get_content_type() == "multipart/alternative"
    assert lines(message.get_body(("plain",)).get_content()) == lines(rendered.text)
    assert lines(message.get_body(("html",)).get_content()) == lines(rendered.html)
    for name in ("From", "To", "Date", "Message-ID"):
        assert message[name] is not None, name
    parsed = mailparser.parse_from_bytes(raw)
    assert parsed.defects == []
    # mail-parser joins decoded words with email.header.decode_header, which drops
    # the space between an encoded word and plain text ("Øster, Jr."): compare
    # without whitespace there; policy.default above reads it exactly.
    assert re.sub(r"\s", "", parsed.subject) == re.sub(r"\s", "", rendered.subject)
    assert lines(parsed.text_plain[0]) == lines(rendered.text)
    assert lines(parsed.text_html[0]) == lines(rendered.html)
    assert parsed.message_id == "<m1@mailsup.test>"


@pytest.mark.parametrize("names", sorted(NAMES))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_is_the_stdlib_bytes_and_parses(make_settings, tmp_path, kind, names):
    settings_ = make_settings()
    load_directory(tmp_path, NAMES[names])
    rendered = preview(settings_, kind, "alice@example.com", "acme", at("2026-11-25T07:00"))
    for headers in HEADERS:
        sender = "Mäilsup Bot <sup@mailsup.test>" if names == "unicode" else \
            "mailsup <sup@mailsup.test>"
        raw = same_bytes(rendered, sender=sender, **headers)
        assert_parses(raw, rendered)


def test_the_queued_sup_mails_parse(make_settings, tmp_path):
    """The rows the 06:00 burst writes (``queue_requests``), not only the builder."""
    settings_ = make_settings()
    load_directory(tmp_path, NAMES["unicode"])
    tick(settings_, at("2026-11-25T07:00"), send=False)
    rows = list(OutboundMessage.select())
    assert rows
    for row in rows:
        message = message_from_bytes(bytes(row.raw), policy=policy.default)
        assert message.defects == []
        assert str(message["Subject"]) == row.subject
        assert lines(message.get_body(("plain",)).get_content()) == lines(row.text_body)
        assert mailparser.parse_from_bytes(bytes(row.raw)).defects == []
    # Queued again (a second tick, a retry): nothing new.
    assert sups.queue_requests(settings_, [r.sup for r in rows if r.sup_id], WHEN) == 0


header_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=120)
body_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=header_text, name=header_text, text=body_text, html=body_text,
       long_lines=st.booleans())
def test_any_subject_name_and_body_are_the_stdlib_bytes(subject, name, text, html, long_lines):
    if long_lines:
        text, html = text * 5, html.replace("\n", " ") * 3
    rendered = compose.Rendered(compose.one_line(subject, 250), text, html)
    sender = compose.formataddr((compose.one_line(name), "sup@mailsup.test"))
    same_bytes(rendered, sender=sender, to=["a@example.com", "b@example.com"],
               reply_to="sup+s1-x@mailsup.test")
