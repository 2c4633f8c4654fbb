"""The pages in a real browser: Playwright driving Debian's Chromium (``/usr/bin/chromium``).

The app is served by waitress on a loopback port, exactly as ``mailsup run``
serves it; sign-in links arrive in the test's SMTP sink through the outbox.
A developer signs in through the mailed link and answers a SUP in the form;
HR browses SUP → previous → developer → client, reviews two SUPs and adds a
note; management retries a failed outbox row. Every page is shot at 1280 and
390 px wide into ``build/screenshots/web/`` (``MAILSUP_SCREENSHOTS`` elsewhere),
and at 390 px the page must not scroll sideways (measured in the page).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from mailsup.models import OutboundMessage, Sup
from mailsup.testing import free_port
from mailsup.testing.services import require_service
from mailsup.web.app import create_app
from mailsup.web.server import WebServer
from tests.support.web import MANAGEMENT, build

CHROMIUM = "/usr/bin/chromium"
# As the machine's notes say: without the background-networking flags Chromium keeps
# trying hosts this closed network refuses.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = Path(os.environ.get("MAILSUP_SCREENSHOTS")
             or Path(__file__).resolve().parents[1] / "build" / "screenshots" / "web")
WIDTHS = {"desktop": 1280, "phone": 390}
FOOTPRINT = {
    "repos": {"acme/api": {
        "issues_closed": [{"number": 128, "title": "Login redirect loops on Safari"}],
        "prs_merged": [{"number": 131, "title": "Orders: paginate results",
                        "commits": "Add cursor pagination; Test the last page"}],
        "commits": [{"sha": "9f1c2ab3d4e5f6", "message": "Fix a typo in the README"}]}},
    "assigned": [{"repo": "acme/api", "number": 130, "title": "Orders endpoint"},
                 {"repo": "acme/web", "number": 45, "title": "Dark mode for the dashboard"}],
}


@pytest.fixture
def sqlite_path(db_url: str) -> str:
    """One database is enough for the browser (the access tests run on both)."""
    return db_url


@pytest.fixture
def chromium():
    if not Path(CHROMIUM).exists():
        require_service("chromium not installed: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_service("playwright not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site(sqlite_path, make_settings, smtp_sink, tmp_path):
    port = free_port()
    settings = make_settings(smtp_sink.port, f"""
        [web]
        listen = 127.0.0.1:{port}
        base_url = http://127.0.0.1:{port}
        """, mailsup_extra=MANAGEMENT)
    world = build(settings, tmp_path)
    for index in range(len(world.sups["alice"])):
        Sup.update(footprint=FOOTPRINT).where(Sup.id == world.sup("alice", index).id).execute()
    server = WebServer(create_app(settings, clock=lambda: world.now),
                       settings.web.listen).start()
    yield world, settings.web.base_url, smtp_sink
    server.stop()


def wait_for_link(sink, address: str, seen: int, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mails = [m for m in sink.to(address) if "sign-in" in str(m["Subject"])]
        if len(mails) > seen:
            return re.search(r"(http://\S+/login/[A-Za-z0-9_-]+)", mails[-1].text).group(1)
        time.sleep(0.05)
    raise AssertionError(f"no sign-in mail reached {address}")


def sign_in(chromium, site, address: str):
    """A desktop context signed in through the link the mail carried."""
    world, base, sink = site
    context = chromium.new_context(viewport={"width": WIDTHS["desktop"], "height": 900})
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=email]", address)
    seen = len([m for m in sink.to(address) if "sign-in" in str(m["Subject"])])
    page.click("text=Mail me a sign-in link")
    assert "a sign-in link is on its way" in page.inner_text("main")
    page.goto(wait_for_link(sink, address, seen))
    page.click("button:has-text('Sign in')")
    page.wait_for_load_state()
    return context, page


class Shots:
    """Shoots each page at both widths and measures sideways scrolling on the phone."""

    def __init__(self, chromium, context):
        self.chromium, self.context, self.overflow = chromium, context, {}
        SHOTS.mkdir(parents=True, exist_ok=True)

    def take(self, name: str, url: str) -> None:
        state = self.context.storage_state()
        for label, width in WIDTHS.items():
            context = self.chromium.new_context(
                viewport={"width": width, "height": 844 if label == "phone" else 900},
                is_mobile=label == "phone", storage_state=state)
            page = context.new_page()
            page.goto(url)
            page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
            if label == "phone":
                self.overflow[name] = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            context.close()


def test_a_developer_signs_in_by_mail_and_answers_in_the_form(chromium, site):
    world, base, _sink = site
    context, page = sign_in(chromium, site, "alice@example.com")
    assert page.url == f"{base}/"
    assert "Waiting for your answer" in page.inner_text("main")
    shots = Shots(chromium, context)
    shots.take("home", page.url)
    open_sup = world.sup("alice")
    page.click(f"text=Answer {open_sup.reference}")
    assert page.url.endswith(f"/sups/{open_sup.id}/answer")
    shots.take("answer", page.url)
    page.fill("textarea[name=plan]", "Ship the orders endpoint\nthen review the dark mode")
    page.select_option("select[name=scheduling]", "part day")
    page.check("input[name='ticket-acme/api-130'][value=done]")
    page.check("input[name='ticket-acme/web-45'][value=working]")
    page.fill("textarea[name=blockers]", "waiting for staging access")
    page.click("text=Send my SUP")
    assert f"{open_sup.reference} submitted" in page.inner_text("h1")
    stored = world.sup("alice")
    assert stored.status == "submitted" and stored.scheduling == "part day"
    assert stored.plan == "Ship the orders endpoint\nthen review the dark mode"
    assert [(t["number"], t["expect_done"]) for t in stored.planned_tickets] == [
        (130, True), (45, False)]
    shots.take("answer-done", page.url)
    page.click(f"text=See {open_sup.reference}")
    shots.take("sup", page.url)
    assert "waiting for staging access" in page.inner_text("main")
    shots.take("team-day", f"{base}/teams/acme/platform/{open_sup.day}")
    assert shots.overflow == dict.fromkeys(shots.overflow, 0), shots.overflow
    context.close()


def test_hr_browses_reviews_two_and_adds_a_note(chromium, site):
    world, base, _sink = site
    context, page = sign_in(chromium, site, "hana@example.com")
    assert page.url == f"{base}/hr"  # "/" of someone who only reviews is HR's queue
    shots = Shots(chromium, context)
    shots.take("hr-queue", page.url)
    second = world.sup("alice", 1)
    page.click(f"a:text-is('{second.reference}')")
    page.click("text=previous SUP")
    assert page.url.endswith(f"/sups/{world.sup('alice', 0).id}")
    shots.take("sup-with-hr", page.url)
    page.click("a:text-is('Alice Smith')")
    assert page.url.endswith("/people/alice@example.com")
    assert page.locator("svg.chart").count() == 1
    shots.take("person", page.url)
    page.go_back()
    page.click("a:text-is('Acme Corp')")
    assert page.url.endswith("/clients/acme")
    shots.take("client", page.url)

    page.goto(f"{base}/hr")
    picked = [world.sup("alice", 1), world.sup("bob", 1)]
    for sup in picked:
        page.check(f"input[name=sup][value='{sup.id}']")
    page.click("text=Mark selected reviewed")
    flashed = page.inner_text(".flash")
    assert all(f"{s.reference}: reviewed" in flashed for s in picked), flashed
    assert [Sup.get_by_id(s.id).status for s in picked] == ["reviewed", "reviewed"]
    page.goto(f"{base}/hr?status=all")
    page.check(f"input[name=sup][value='{picked[0].id}']")
    page.fill("input[name=text]", "asked about the staging access")
    page.click("button:has-text('Add note')")
    assert f"{picked[0].reference}: note added" in page.inner_text(".flash")
    assert "asked about the staging access" in str(Sup.get_by_id(picked[0].id).hr_notes)
    assert shots.overflow == dict.fromkeys(shots.overflow, 0), shots.overflow
    context.close()


def test_management_retries_a_failed_outbox_row(chromium, site):
    world, base, sink = site
    row = (OutboundMessage.select().where(OutboundMessage.kind == "sup_request")
           .order_by(OutboundMessage.id).first())
    row.status, row.attempts, row.last_error = "failed", 1, "550 5.1.1 mailbox unavailable"
    row.save()
    context, page = sign_in(chromium, site, "boss@example.com")
    page.goto(f"{base}/ops")
    shots = Shots(chromium, context)
    shots.take("ops", page.url)
    assert "550 5.1.1 mailbox unavailable" in page.inner_text("main")
    page.locator("tr", has_text="550 5.1.1").locator("button:has-text('Retry now')").click()
    assert f"outbox {row.id}: queued again" in page.inner_text(".flash")
    deadline = time.monotonic() + 15
    while OutboundMessage.get_by_id(row.id).status != "sent":
        assert time.monotonic() < deadline, "the retried mail was not sent"
        time.sleep(0.05)
    assert row.message_id in {str(m["Message-ID"]) for m in sink.messages}
    shots.take("login", f"{base}/login")
    shots.take("not-found", f"{base}/sups/999999")
    seen = len([m for m in sink.to("boss@example.com") if "sign-in" in str(m["Subject"])])
    page.goto(f"{base}/login")
    page.fill("input[name=email]", "boss@example.com")
    page.click("text=Mail me a sign-in link")
    shots.take("login-confirm", wait_for_link(sink, "boss@example.com", seen))  # GET: not used
    assert shots.overflow == dict.fromkeys(shots.overflow, 0), shots.overflow
    context.close()
