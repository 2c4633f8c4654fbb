"""scripts/screenshots.py: every mail kind renders, and headless Chromium shoots and measures it.

Every role is shot at 800 and 390 px through Playwright driving Debian's
Chromium; at 390 px the page itself is measured (every element's and text
run's right edge, the sideways scroll width, and whether a ``<code>``/``<pre>``
— a command to type — breaks across lines). Without Chromium or Playwright
the browser tests skip (fail under MAILSUP_REQUIRE_SERVICES=1); rendering
alone needs nothing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from mailsup.testing.services import require_service

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "screenshots.py"
TEMPLATES = ROOT / "mailsup" / "templates"
SHOTS = Path(os.environ.get("MAILSUP_SCREENSHOTS") or ROOT / "build" / "screenshots") / "mail"
ALL_ROLES = ["sup_request", "nag", "receipt", "refusal", "escalation", "hr_digest",
             "team_digest", "command_results", "help", "reply_to_sup_email", "sign_in",
             "weekly_summary", "overdue_reviews", "away"]


def load_script():
    spec = importlib.util.spec_from_file_location("screenshots", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def chromium_path():
    script = load_script()
    found = script.find_chromium()
    if found is None:
        require_service("chromium not installed: apt-get install chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        require_service("playwright not installed: pip install -e '.[test]'")
    return found


def test_every_mail_kind_has_a_sample():
    """A new mail template without sample data would never be shot or measured."""
    kinds = {p.name.removesuffix(".html.j2") for p in TEMPLATES.glob("*.html.j2")
             if not p.name.startswith("_")}
    assert kinds <= set(load_script().ROLES), sorted(kinds - set(load_script().ROLES))
    assert set(ALL_ROLES) <= set(load_script().ROLES)


def test_every_role_renders_to_html(tmp_path):
    run_script("--out", str(tmp_path), "--html-only")
    for role in ALL_ROLES:
        html = (tmp_path / f"{role}.html").read_text(encoding="utf-8")
        assert html.startswith("<!DOCTYPE html>") and "</html>" in html, role
        assert "mailsup" in html, role
        assert (tmp_path / f"{role}.txt").read_text(encoding="utf-8").startswith("Subject: ")
    # The sample data is escaped, never injected, and the rich footprint shows.
    request = (tmp_path / "sup_request.html").read_text(encoding="utf-8")
    assert "&lt;and&gt;" in request and "<and>" not in request
    assert "acme/infra-with-a-rather-long-repository-name" in request


def test_unknown_role_is_one_line_error(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path), "no_such"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "unknown role(s) no_such" in done.stderr


def test_every_role_at_800_and_390_px_fits_the_phone(chromium_path):
    # Kept after the run (CI's artifacts), beside the pages' screenshots.
    tmp_path = SHOTS
    done = run_script("--out", str(tmp_path), "--check")
    measured = json.loads((tmp_path / "phone-width.json").read_text(encoding="utf-8"))
    assert sorted(measured) == sorted(load_script().ROLES)
    for role in measured:
        for width in (800, 390):
            png = tmp_path / f"{role}-{width}.png"
            shot_width, height = png_size(png)
            assert shot_width == width and height >= 600, (role, width, height)
            # A blank page compresses to a few KB; rendered text is more.
            assert png.stat().st_size > 8_000, (role, width, png.stat().st_size)
        m = measured[role]
        assert m["viewport"] == 390 and m["inner_width"] == 390, (role, m)
        assert m["widest_right"] <= 390 and m["scroll_width"] <= 390, (role, m)
        assert m["wrapped"] == [], (role, m["wrapped"])
    assert "TOO WIDE" not in done.stdout


def test_the_measurement_catches_a_wide_table_a_long_word_and_a_wrapped_command(
        tmp_path, chromium_path):
    """Controls: the measure is not vacuous."""
    script = load_script()
    body = {
        "table": '<table width="600"><tr><td>a</td><td>b</td></tr></table>',
        "word": "<p>" + "x" * 120 + "</p>",
        "command": '<pre style="white-space:pre-wrap">reviewed 42 43      '
                   'the SUPs with these numbers, and only those, nothing else</pre>',
        "fine": "<p>" + "word " * 200 + "</p><pre>plan: ok</pre>",
    }
    pages = []
    for name, html in body.items():
        page = tmp_path / f"{name}.html"
        page.write_text('<!DOCTYPE html><html><head><meta name="viewport" '
                        'content="width=device-width, initial-scale=1"></head>'
                        f"<body>{html}</body></html>", encoding="utf-8")
        pages.append(page)
    measured = script.shoot(chromium_path, pages, widths=(390,), progress=lambda _: None)
    assert script.overflows(measured["table"]) and measured["table"]["widest_right"] > 600
    assert script.overflows(measured["word"])
    assert not script.overflows(measured["command"]) and measured["command"]["wrapped"]
    assert script.illegible(measured["command"])
    assert not script.illegible(measured["fine"]), measured["fine"]
