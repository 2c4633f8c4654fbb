"""Every mail links to the pages it concerns, and each link opens for its recipient.

A simulated day on the pages' test world: SUP mails, reminders, receipts, a
refusal, the help answer, an escalation, team and HR digests and HR's command
results. Every one carries ``[web] base_url`` links in both alternatives; each
link, opened by the mail's recipient, shows a page (through sign-in and back
when there is no session yet).
"""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy
from html import unescape
from urllib.parse import parse_qs, urlsplit

from mailsup.jobs.tick import tick
from mailsup.models import OutboundMessage, Sup
from mailsup.web.app import create_app
from tests.support.web import FIRST_DAY, MANAGEMENT, Browser, build, reply, request_mail

BASE = "http://pages.test"
LINK = re.compile(re.escape(BASE) + r"(/\S*)")
HREF = re.compile(r'href="' + re.escape(BASE) + r'(/[^"]*)"')


def test_every_mail_links_to_its_pages_and_each_link_opens(make_settings, tmp_path):
    settings = make_settings(extra=f"[web]\nlisten =\nbase_url = {BASE}\n"
                                   "sign_in_mails_per_address = 100\nsign_in_mails_per_ip = 100\n",
                             mailsup_extra=MANAGEMENT)
    world = build(settings, tmp_path, days=2)
    day = FIRST_DAY + timedelta(days=1)
    open_sup = world.sup("alice")
    reply(settings, open_sup, "help", day + timedelta(minutes=40), quote=False)
    reply(settings, open_sup, "scheduling: full day", day + timedelta(minutes=45))  # refused
    reply(settings, world.sup("bob"), "plan: fix it\nblockers: staging is down",
          day + timedelta(minutes=50))
    # Sent (to the outbox folder): a reminder waits for its SUP mail to have gone out.
    for step in range(22):  # to 16:00 UTC: nags, team digests, the HR digests
        tick(settings, day + timedelta(minutes=30 * step))
    digest = (OutboundMessage.select().where(OutboundMessage.kind == "hr_digest")
              .order_by(OutboundMessage.id).first())
    _hr_reply(settings, message_from_bytes(bytes(digest.raw), policy=policy.default),
              day + timedelta(hours=12))

    rows = list(OutboundMessage.select().order_by(OutboundMessage.id))
    kinds = {r.kind for r in rows}
    assert kinds >= {"sup_request", "nag", "receipt", "refusal", "help", "escalation",
                     "team_digest", "hr_digest", "command_results"}, kinds
    app = create_app(settings, clock=lambda: world.now, send_soon=lambda: None)
    opened = {}
    for row in rows:
        html = message_from_bytes(bytes(row.raw), policy=policy.default).get_body(("html",))
        text_links = LINK.findall(row.text_body)
        assert text_links, f"{row.kind} has no link to the pages"
        hrefs = {unescape(h) for h in HREF.findall(html.get_content())}
        assert hrefs >= set(text_links), row.kind
        if row.kind not in opened:
            opened[row.kind] = [(_open(app, row.recipients[0], path), _expected(row, path))
                                for path in text_links]
    assert all(got == want for links in opened.values() for got, want in links), repr(opened)


def _expected(row: OutboundMessage, path: str) -> int:
    """The mail's answer link works until review, then explains that it stopped (410)."""
    reviewed = row.sup_id is not None and Sup.get_by_id(row.sup_id).status == "reviewed"
    return 410 if "/answer?t=" in path and reviewed else 200


def _hr_reply(settings, digest_mail, now) -> None:
    from mailsup.inbound import runner
    from mailsup.inbound.store import store_raw
    from mailsup.testing.replies import make_reply

    store_raw(make_reply(digest_mail, "reviewed", sender="Hana HR <hana@example.com>"),
              "smtp", now)
    runner.process_pending(settings, now)


def _open(app, recipient: str, path: str) -> int:
    """Open a mail's link as its recipient: no session → sign-in → back to the link."""
    browser = Browser(app)
    first = browser.get(path)
    if first.status_code != 302:
        return first.status_code  # the signed answer link needs no session
    target = first.headers["Location"]
    assert target.startswith("/login?next="), target
    link = browser.ask_link(recipient, next=parse_qs(urlsplit(target).query)["next"][0])
    landed = browser.post(link)
    assert landed.headers["Location"] == path, (landed.headers["Location"], path)
    page = browser.get(path)
    if page.status_code == 302 and page.headers["Location"] == "/hr":
        return 200  # "/" of someone who only reviews is HR's queue
    return page.status_code


def test_request_mail_reaches_its_form(make_settings, tmp_path):
    settings = make_settings(extra=f"[web]\nlisten =\nbase_url = {BASE}\n")
    world = build(settings, tmp_path, days=1)
    text = request_mail(world.sup("alice")).get_body(("plain",)).get_content()
    (answer,) = [p for p in LINK.findall(text) if "/answer?t=" in p]
    page = Browser(create_app(settings, send_soon=lambda: None)).get(answer)
    assert page.status_code == 200 and 'name="plan"' in page.get_data(as_text=True)
