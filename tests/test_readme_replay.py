"""The README's "Running it for real", replayed from a fresh clone (scripts/readme_replay.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "readme_replay.py"


def test_readme_steps_from_a_fresh_clone_up_to_a_reply_applied():
    if shutil.which("git") is None:
        pytest.fail("git is needed to clone the repository for the replay")
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "$ mailsup check" in done.stdout and "✓ relay:" in done.stdout
    assert "submitted by reply" in done.stdout


def test_the_replay_knows_every_readme_step():
    sys.path.insert(0, str(ROOT / "scripts"))
    import readme_replay

    steps = readme_replay.readme_steps((ROOT / "README.md").read_text(encoding="utf-8"))
    assert steps[0] == "mailsup init" and "mailsup check" in steps
    assert steps[-1] == "mailsup tick"
