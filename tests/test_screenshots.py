"""scripts/screenshots.py: every HTML role renders, and headless Chromium shoots a few.

Chromium is the Debian package ``chromium``; without it the screenshot test
skips (fails under MAILSUP_REQUIRE_SERVICES=1). Rendering alone needs nothing.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

from mailsup.testing.services import require_service

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "screenshots.py"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
ALL_ROLES = ["sup_request", "nag", "receipt", "refusal", "escalation", "hr_digest",
             "team_digest", "command_results", "help", "reply_to_sup_email", "sign_in",
             "weekly_summary", "overdue_reviews", "away"]


def run_script(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", head[16:24])


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


def test_screenshots_of_three_roles(tmp_path):
    if not any(shutil.which(n) for n in CHROMIUM_NAMES):
        require_service("chromium not installed: apt-get install chromium")
    roles = ["sup_request", "receipt", "team_digest"]
    run_script("--out", str(tmp_path), *roles)
    for role in roles:
        png = tmp_path / f"{role}.png"
        assert png.exists(), role
        width, height = png_size(png)
        assert width == 800 and height >= 1400, (role, width, height)
        # A blank page compresses to a few KB; rendered text is tens of KB.
        assert png.stat().st_size > 20_000, (role, png.stat().st_size)
    assert not (tmp_path / "nag.png").exists()
