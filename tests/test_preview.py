"""`mailsup preview` renders every email mailsup sends, without sending it."""

from __future__ import annotations

import pytest

from mailsup.cli.preview import RENDERERS, preview
from mailsup.models import OutboundMessage
from mailsup.testing import at
from tests.support.directory_samples import TWO_ZONES
from tests.support.helpers import load_directory


@pytest.mark.parametrize("kind", sorted(RENDERERS))
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
