"""Sign-in, sessions, CSRF, the signed answer link, headers and bad input on the pages.

Each refusal is a page that says what happened, and changes nothing: no
session, no SUP change, no row.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailsup import review, tokens
from mailsup.models import InboundMessage, OutboundMessage, SignInToken, Sup
from mailsup.web.app import create_app
from tests.support.web import MANAGEMENT, Browser, build


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def world(make_settings, tmp_path):
    settings = make_settings(extra="[web]\nlisten =\nbase_url = http://pages.test\n"
                                   "sign_in_mails_per_address = 3\nsign_in_mails_per_ip = 5\n",
                             mailsup_extra=MANAGEMENT)
    return build(settings, tmp_path)


@pytest.fixture
def clock(world):
    return Clock(world.now)


@pytest.fixture
def app(world, clock):
    return create_app(world.settings, clock=clock, send_soon=lambda: None)


def text(response) -> str:
    body = response.get_data(as_text=True)
    assert "Traceback" not in body
    return body


def signed_in(browser: Browser) -> bool:
    home = browser.get("/")
    return home.status_code == 200 or not home.headers["Location"].startswith("/login")


# --- sign-in ------------------------------------------------------------------------------

def test_login_answers_the_same_for_known_and_unknown_addresses(app):
    browser = Browser(app)
    known = text(browser.post("/login", {"email": "alice@example.com"}))
    unknown = text(browser.post("/login", {"email": "nobody@example.com"}))
    assert known.replace("alice@example.com", "X") == unknown.replace("nobody@example.com", "X")
    assert SignInToken.select().count() == 1  # only the known address got a link
    (mail,) = OutboundMessage.select().where(OutboundMessage.kind == "sign_in")
    assert mail.recipients == ["alice@example.com"] and "15 minutes" in mail.text_body
    # Stored hashed: the token of the mail is nowhere in the token table.
    token = Browser(app).ask_link("alice@example.com").rsplit("/", 1)[1]
    assert SignInToken.get_or_none(SignInToken.token_hash == token) is None
    assert SignInToken.get_or_none(SignInToken.token_hash == tokens.hash_token(token))


def test_a_used_link_is_refused_and_signs_nobody_in(app):
    first, second = Browser(app), Browser(app)
    link = first.ask_link("alice@example.com")
    assert first.post(link).status_code == 302 and signed_in(first)
    again = second.post(link, form_from="/login")
    assert again.status_code == 410 and "no longer works" in text(again)
    assert second.get(link).status_code == 410
    assert not signed_in(second)


def test_an_expired_link_is_refused(app, clock):
    browser = Browser(app)
    link = browser.ask_link("alice@example.com")
    clock.now += timedelta(minutes=15, seconds=1)
    assert browser.get(link).status_code == 410
    assert browser.post(link, form_from="/login").status_code == 410
    assert not signed_in(browser)
    assert SignInToken.get().used_at is None


def test_a_made_up_link_is_refused(app):
    browser = Browser(app)
    assert browser.get("/login/" + "A" * 43).status_code == 410
    assert browser.get("/login/x").status_code == 410


def test_the_link_returns_to_the_page_asked_for(app, world):
    browser = Browser(app)
    page = f"/sups/{world.sup('alice', 0).id}"
    assert browser.get(page).headers["Location"] == f"/login?next={page}"
    browser.post("/login", {"email": "alice@example.com", "next": page})
    link = browser.ask_link("alice@example.com")  # a second link; the first is as good
    assert browser.post(link).headers["Location"] == "/"  # this one was asked without next
    evil = Browser(app)
    evil.post("/login", {"email": "alice@example.com", "next": "//evil.example/x"})
    row = SignInToken.select().order_by(SignInToken.id.desc()).first()
    assert row.next_path is None


def test_sign_in_mails_are_limited_per_address_and_per_ip(app):
    browser = Browser(app)
    pages = {text(browser.post("/login", {"email": "alice@example.com"})) for _ in range(5)}
    assert len(pages) == 1  # the same answer, mail or not
    assert SignInToken.select().count() == 3  # sign_in_mails_per_address = 3
    for who in ("bob", "carol", "dan", "hana"):
        browser.post("/login", {"email": f"{who}@example.com"})
    assert SignInToken.select().count() == 5  # sign_in_mails_per_ip = 5 from this client
    other_ip = browser.post("/login", {"email": "gus@example.com"},
                            environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other_ip.status_code == 200 and SignInToken.select().count() == 6
    assert OutboundMessage.select().where(OutboundMessage.kind == "sign_in").count() == 6


def test_logout_is_a_post_and_ends_the_session(app):
    browser = Browser(app).sign_in("alice@example.com")
    assert browser.get("/logout").status_code == 405
    assert signed_in(browser)
    assert browser.post("/logout", form_from="/").headers["Location"].startswith("/login")
    assert not signed_in(browser)


# --- cookies and CSRF ------------------------------------------------------------------------

def _session_cookie(browser: Browser):
    return browser.client.get_cookie("mailsup_session")


def test_the_session_cookie_is_signed_httponly_and_lax(app):
    browser = Browser(app)
    link = browser.ask_link("alice@example.com")
    response = browser.post(link)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_cookie_and_hsts_behind_tls(make_settings, tmp_path):
    settings = make_settings(extra="[web]\nlisten =\nbase_url = https://sup.example.com\n")
    build(settings, tmp_path, days=1)
    browser = Browser(create_app(settings, send_soon=lambda: None))
    response = browser.get("/login")
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_tampered_cookie_is_a_signed_out_visitor_and_changes_nothing(app, world):
    browser = Browser(app).sign_in("hana@example.com")
    cookie = _session_cookie(browser)
    forged = cookie.value[:-3] + ("AAA" if not cookie.value.endswith("AAA") else "BBB")
    token = browser.token("/hr")
    browser.client.set_cookie("mailsup_session", forged, domain=cookie.domain)
    assert browser.get("/hr").status_code == 302  # to sign-in: the cookie counts for nothing
    sup = world.sup("alice", 1)
    refused = browser.client.post("/hr/act", data={"csrf_token": token, "action": "review",
                                                   "sup": str(sup.id)})
    assert refused.status_code == 400 and "Nothing was changed" in text(refused)
    assert world.sup("alice", 1).status == "submitted"


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(app, world):
    hana = Browser(app).sign_in("hana@example.com")
    sup = world.sup("alice", 1)
    for path, data in (("/hr/act", {"action": "review", "sup": str(sup.id)}),
                       ("/logout", {})):
        refused = hana.post(path, data, csrf=False)
        assert refused.status_code == 400 and "Nothing was changed" in text(refused)
    assert world.sup("alice", 1).status == "submitted" and signed_in(hana)
    alice = Browser(app).sign_in("alice@example.com")
    open_sup = world.sup("alice")
    refused = alice.post(f"/sups/{open_sup.id}/answer", {"plan": "x"}, csrf=False)
    assert refused.status_code == 400 and world.sup("alice").status == "open"
    refused = Browser(app).post("/login", {"email": "bob@example.com"}, csrf=False)
    assert refused.status_code == 400 and SignInToken.select().count() == 2  # alice, hana


def test_security_headers_on_every_page(app, world):
    browser = Browser(app).sign_in("boss@example.com")
    for path in ("/login", "/hr", "/ops", f"/sups/{world.sup('alice', 0).id}", "/nope"):
        headers = browser.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src" not in csp and "'unsafe-inline'" not in csp
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-store"
    page = browser.get("/hr").get_data(as_text=True)
    assert "<script" not in page and " style=" not in page and " on" + "click" not in page


# --- the signed answer link -------------------------------------------------------------------

def answer_link(world, sup) -> str:
    return f"/sups/{sup.id}/answer?t={tokens.answer_token(world.settings.secret, sup.id)}"


def test_the_mail_link_opens_that_sups_form_without_signing_in(app, world):
    sup = world.sup("alice")
    row = OutboundMessage.get(OutboundMessage.key == f"sup_request:{sup.id}")
    assert "http://pages.test" + answer_link(world, sup) in row.text_body
    browser = Browser(app)
    assert browser.get(answer_link(world, sup)).status_code == 200
    done = browser.post(answer_link(world, sup), {"plan": "ship the orders endpoint",
                                                  "scheduling": "half day", "blockers": ""})
    assert done.status_code == 200 and "submitted" in text(done)
    stored = world.sup("alice")
    assert (stored.status, stored.plan, stored.scheduling, stored.blockers) == (
        "submitted", "ship the orders endpoint", "part day", None)
    assert not signed_in(browser)  # the link answers one SUP; it signs nobody in
    alices_token = tokens.answer_token(world.settings.secret, sup.id)
    assert browser.get(f"/sups/{world.sup('bob').id}/answer?t={alices_token}").status_code == 404
    assert browser.get(f"/sups/{sup.id}/answer?t=wrong").status_code == 404


def test_the_mail_link_stops_at_review_and_a_late_post_changes_nothing(app, world):
    sup = world.sup("alice", 1)
    browser = Browser(app)
    form = browser.get(answer_link(world, sup))
    assert form.status_code == 200
    token = browser.token(answer_link(world, sup))
    review.review(sup, None, world.now)
    refused = browser.client.post(answer_link(world, sup), data={
        "csrf_token": token, "plan": "too late", "seen": "submitted"})
    assert refused.status_code == 410 and "has been reviewed" in text(refused)
    after = world.sup("alice", 1)
    assert after.plan == "alice day 2 work" and after.amendments == []
    assert InboundMessage.select().where(InboundMessage.source == "web").count() == 0


def test_a_form_opened_before_review_and_sent_after_it_records_nothing(app, world):
    alice = Browser(app).sign_in("alice@example.com")
    sup = world.sup("alice", 1)
    token = alice.token(f"/sups/{sup.id}/answer")
    review.review(sup, None, world.now)
    refused = alice.client.post(f"/sups/{sup.id}/answer", data={
        "csrf_token": token, "plan": "changed my mind", "seen": "submitted"})
    assert refused.status_code == 409 and "nothing was recorded" in text(refused)
    assert world.sup("alice", 1).amendments == []
    # Sent again from the form it got back, it is an amendment, as a reply by mail would be.
    again = alice.post(f"/sups/{sup.id}/answer", {"plan": "changed my mind", "seen": "reviewed"})
    assert again.status_code == 200 and "amended" in text(again)
    assert world.sup("alice", 1).amendments[0]["fields"]["plan"] == "changed my mind"


# --- bad input ----------------------------------------------------------------------------------

def test_bad_input_gets_a_clear_page_and_changes_nothing(app, world):
    alice = Browser(app).sign_in("alice@example.com")
    hana = Browser(app).sign_in("hana@example.com")
    for path in ("/sups/999999", "/sups/99999999999999999999", "/sups/abc",
                 "/sups/999999/answer", "/people/nobody@example.com", "/clients/nope"):
        got = alice.get(path)
        assert got.status_code == 404 and "no such page" in text(got), path
    got = alice.get("/teams/acme/platform/2026-13-45")
    assert got.status_code == 404 and "is not a date" in text(got)
    got = hana.get("/hr?since=25.11.2026")
    assert got.status_code == 400 and "is not a date" in text(got)
    got = hana.get("/hr?status=bogus")
    assert got.status_code == 400 and "is not one of" in text(got)
    sup = world.sup("alice")
    before = (Sup.get_by_id(sup.id).plan, InboundMessage.select().count())
    huge = alice.post(f"/sups/{sup.id}/answer", {"plan": "x" * 1_000_000})
    assert huge.status_code == 413 and "Nothing was recorded" in text(huge)
    long = alice.post(f"/sups/{sup.id}/answer", {"plan": "x" * 30_000})
    assert long.status_code == 413 and "Nothing was recorded" in text(long)
    bad = hana.post("/hr/act", {"action": "review", "sup": "1; DROP"}, form_from="/hr")
    assert bad.status_code == 400 and "Nothing was changed" in text(bad)
    boss = Browser(app).sign_in("boss@example.com")
    for path in ("/ops/outbox/99999999999999/retry", "/ops/inbound/99999999999999/retry"):
        assert boss.post(path, form_from="/ops").status_code == 404
    assert (Sup.get_by_id(sup.id).plan, InboundMessage.select().count()) == before


def test_the_form_validates_as_mail_does(app, world):
    alice = Browser(app).sign_in("alice@example.com")
    sup = world.sup("alice")
    path = f"/sups/{sup.id}/answer"
    no_plan = alice.post(path, {"plan": "", "scheduling": "full day"})
    assert no_plan.status_code == 422 and "plan" in text(no_plan).lower()
    assert "full day" in text(no_plan)  # what was typed is kept in the form
    bad_mark = alice.post(path, {"plan": "work", "ticket-acme/api-130": "maybe"})
    assert bad_mark.status_code == 422 and "must be done, working or empty" in text(bad_mark)
    assert world.sup("alice").status == "open"
    # As for mail (design §5): with a plan the answer is applied, and the page lists
    # the ticket it could not place.
    unknown = alice.post(path, {"plan": "work", "ticket-acme/api-999": "done"})
    assert unknown.status_code == 200 and "unknown ticket" in text(unknown)
    assert world.sup("alice").plan == "work"
    done = alice.post(path, {"plan": "ship the endpoint\nthen review web#45",
                             "scheduling": "full day", "ticket-acme/api-130": "done",
                             "ticket-acme/web-45": "working", "comment-acme/api": "merged",
                             "blockers": "waiting for staging"})
    assert done.status_code == 200
    stored = world.sup("alice")
    assert stored.plan == "ship the endpoint\nthen review web#45"
    assert [(t["repo"], t["number"], t["expect_done"]) for t in stored.planned_tickets] == [
        ("acme/api", 130, True), ("acme/web", 45, False)]
    assert stored.repo_comments == {"acme/api": "merged"}
    assert stored.blockers == "waiting for staging"
    (escalation,) = OutboundMessage.select().where(OutboundMessage.kind == "escalation")
    assert escalation.recipients == ["dan@example.com"]
    row = InboundMessage.get(InboundMessage.source == "web")
    assert (row.status, row.kind, row.sup_id) == ("applied", "sup_reply", sup.id)


def test_what_people_typed_is_shown_as_text_never_as_markup(app, world):
    alice = Browser(app).sign_in("alice@example.com")
    sup = world.sup("alice")
    alice.post(f"/sups/{sup.id}/answer", {"plan": '<script>alert("x")</script> & <b>bold</b>'})
    page = text(alice.get(f"/sups/{sup.id}"))
    assert "<script>alert" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold" in page
    hana = Browser(app).sign_in("hana@example.com")
    too_many = hana.post("/hr/act", {"action": "review", "sup": ["1"] * 501}, form_from="/hr")
    assert too_many.status_code == 400 and "Nothing was changed" in text(too_many)
