"""`mailsup demo` runs the whole simulated day on embedded defaults."""

from __future__ import annotations

import json
import subprocess
import sys


def test_demo_shows_the_whole_loop():
    proc = subprocess.run([sys.executable, "-m", "mailsup", "demo", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    texts = [f"{e['kind']} {e['text']}" for e in data["events"]]

    def seen(*words):
        return any(all(w in t for w in words) for t in texts)

    assert seen("mail", "stand-up for Wed")  # SUP requests
    assert seen("reply", "chandra@example.com")  # replies over SMTP
    assert seen("mail", "Re: [SUP")  # receipts and refusals
    assert seen("mail", "dan@example.com", "Blocker")  # escalation
    assert seen("reply", "dan@example.com")  # the manager answers it
    roles = {e.get("role") for e in data["events"]}
    assert {"blocker_reply", "escalation_answer"} <= roles  # relayed, and Dan told so
    assert seen("check", "✓ database") and seen("check", "✓ relay")  # `mailsup check` first
    assert not seen("check", "✗")
    assert seen("mail", "Reminder")  # nag
    assert seen("slack", "still open")  # Slack DM after the nag
    assert seen("mail", "plans for")  # team digest
    assert seen("mail", "hana@example.com", "to review")  # HR digest
    assert seen("reply", "Hana", "reviewed")  # HR command
    assert seen("github", "opened", "Overdue SUP review")  # overdue ticket
    assert seen("github", "closed")  # closed on review
    assert data["totals"]["sups"]["reviewed"] >= 1
    # The pages ran, and /login mailed a one-time link for each demo person.
    pages = data["pages"]
    assert pages["url"].startswith("http://127.0.0.1:")
    assert set(pages["sign_in"]) == {"hana@example.com", "alice@example.com"}
    assert all(link.startswith(pages["url"] + "/login/") for link in pages["sign_in"].values())


def test_demo_text_output_prints_the_mails():
    proc = subprocess.run([sys.executable, "-m", "mailsup", "demo"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "## By next business day" in proc.stdout  # the first SUP email, in full
    assert "Dan wrote:" in proc.stdout  # the manager's answer, relayed, in full
    assert "mails sent over SMTP" in proc.stdout
    assert "Answer in the browser: http://127.0.0.1:" in proc.stdout  # the SUP mail's link
    assert "Sign in with one of these one-time links" in proc.stdout
    assert "(no sign-in mail arrived)" not in proc.stdout
    # Not a terminal, so not served on: it says the links die with it, and how to keep them.
    assert "The pages stop with the demo: run `mailsup demo --serve`" in proc.stdout
    assert "Traceback" not in proc.stderr
