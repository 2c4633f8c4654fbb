"""Replies to a real rendered SUP mail, as each mail client really sends them.

Every case is a full MIME message (bytes) that goes through the same path as
production: ``message_from_bytes`` → ``body.reply_text`` → ``parse_reply``
against the exact text mailsup sent. The quoted originals are built from the
rendered mail itself — text alternative for plain-text clients, HTML
alternative for clients that quote what they displayed — so a template change
is exercised here at once.
"""

from __future__ import annotations

import base64
import email
import quopri
import re
import textwrap
from datetime import date
from email import policy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailsup.inbound.reading.body import reply_text
from mailsup.inbound.reading.html_text import html_to_text
from mailsup.inbound.reading.sup_reply import PLAN_MISSING, ParsedReply, parse_reply
from mailsup.models import Client, Person, Sup
from mailsup.outbound.context import assigned_tickets
from mailsup.sup import render_request

FOOTPRINT = {
    "repos": {
        "acme/api": {
            "issues_opened": [{"number": 12, "title": "Fix login", "url": "https://x/12",
                               "at": "2026-11-24T10:00:00Z"}],
            "issues_closed": [], "issues_commented": [], "prs_opened": [],
            # Long enough that every client re-wraps it when quoting.
            "prs_merged": [{"number": 130, "title": "Add endpoint",
                            "summary": "add the /status route with health checks for the "
                                       "database and the job queue; tests",
                            "at": "2026-11-24T11:00:00Z"}],
            "commits": [{"sha": "abc1234def", "message": "Fix typo", "at": "2026-11-24T12:00:00Z"}],
        },
        "acme/web": {"issues_commented": [{"number": 45, "title": "Dark mode",
                                           "at": "2026-11-24T13:00:00Z"}]},
    },
    "assigned": [{"repo": "acme/api", "number": 130, "title": "Add endpoint"},
                 {"repo": "acme/web", "number": 45, "title": "Dark mode"}],
}
SUP = Sup(id=42, developer=Person(name="Alice Smith", email="alice@example.com"),
          client=Client(name="Acme Corp", slug="acme"), day=date(2026, 11, 25),
          footprint=FOOTPRINT, previous_plan="Finish the login fix\nReview Bob's PR")
SENT = render_request(SUP, reply_address="sup+s42x7k2q@mailsup.example")
ASSIGNED = assigned_tickets(FOOTPRINT)
REPOS = ["acme/api", "acme/web"]
MAILSUP = "mailsup <sup+s42x7k2q@mailsup.example>"
ALICE = "Alice Smith <alice@example.com>"
HTML_BODY = SENT.html[SENT.html.index("<body"):SENT.html.index("</body>")]
HTML_BODY = HTML_BODY[HTML_BODY.index(">") + 1:]

PLAN_H = "Plan (required):"
SCHED_H = "Scheduling (full day, part day, emergency only, unavailable):"
BLOCK_H = "Blockers:"
API_H = "Comment on acme/api:"
WEB_H = "Comment on acme/web:"
API_T = "[ ] api#130 Add endpoint"
WEB_T = "[ ] web#45 Dark mode"

API130 = {"repo": "acme/api", "number": 130, "title": "Add endpoint"}
WEB45 = {"repo": "acme/web", "number": 45, "title": "Dark mode"}


def done(t: dict) -> dict:
    return t | {"expect_done": True}


def working(t: dict) -> dict:
    return t | {"expect_done": False}


# --------------------------------------------------------------------------
# Building messages the way clients do


def encode(text: str, subtype: str = "plain", charset: str = "utf-8",
           cte: str = "quoted-printable", params: str = "") -> bytes:
    data = text.encode(charset)
    if cte == "quoted-printable":
        payload = quopri.encodestring(data)
    elif cte == "base64":
        payload = base64.encodebytes(data)
    else:
        payload = data
    head = (f'Content-Type: text/{subtype}; charset="{charset}"{params}\n'
            f"Content-Transfer-Encoding: {cte}\n\n").encode()
    return head + payload


def multipart(subtype: str, *parts: bytes, boundary: str = "000000000000b1d2c3") -> bytes:
    out = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\n\n'.encode()
    for part in parts:
        out += f"--{boundary}\n".encode() + part + b"\n"
    return out + f"--{boundary}--\n".encode()


def message(body: bytes, *, extra: str = "", crlf: bool = True) -> bytes:
    head = (f"From: {ALICE}\nTo: {MAILSUP}\nSubject: Re: {SENT.subject}\n"
            "Date: Wed, 25 Nov 2026 07:12:03 +0100\nMessage-ID: <r1@client.example>\n"
            "In-Reply-To: <5f1c0e2a9b@mailsup.example>\nMIME-Version: 1.0\n"
            f"{extra}").encode()
    raw = head + body
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") if crlf else raw


def quote(text: str, prefix: str = "> ") -> str:
    return "\n".join(prefix + line if line else prefix.rstrip() for line in text.split("\n"))


def rewrap_quote(text: str, width: int = 72, prefix: str = "> ") -> str:
    """Quote and re-wrap long lines, as Gmail and Outlook do in plain text."""
    out = []
    for line in text.split("\n"):
        pieces = textwrap.wrap(line, width - len(prefix), break_long_words=False,
                               break_on_hyphens=False) or [""]
        out.extend(prefix + p if p else prefix.rstrip() for p in pieces)
    return "\n".join(out)


def answered(text: str, answers: dict[str, list[str]], edits: dict[str, str] | None = None,
             prefix: str = "> ") -> str:
    """The sent text quoted, with unquoted answers typed under the given headings."""
    out = []
    for line in text.split("\n"):
        line = (edits or {}).get(line, line)
        out.append(prefix + line if line else prefix.rstrip())
        if line in answers:
            out.extend(["", *answers[line], ""])
    return "\n".join(out)


def html_answered(answers: dict[str, list[str]], edits: dict[str, str] | None = None,
                  body: str = HTML_BODY) -> str:
    """The HTML original with answers typed as paragraphs under its headings."""
    for heading, lines in answers.items():
        typed = "".join(f'<p class="MsoNormal" style="color:#1F497D">{line}</p>' for line in lines)
        body = body.replace(f"{heading}</p>", f"{heading}</p>{typed}", 1)
    for old, new in (edits or {}).items():
        body = body.replace(old, new)
    return body


def gmail_plain_quote() -> str:
    """What Gmail puts in text/plain when quoting the HTML alternative it displayed."""
    shown = html_to_text(SENT.html)
    shown = shown.replace("Acme Corp on", "*Acme Corp* on").replace(
        "What I said last time:", "*What I said last time:*")
    lines = []
    for line in shown.split("\n"):
        if re.match(r"#\d+ |abc1234", line):
            lines += ["", "   - " + line, ""]
        else:
            lines.append(line)
    return rewrap_quote("\n".join(lines), width=78)


def read(raw: bytes) -> ParsedReply:
    msg = email.message_from_bytes(raw, policy=policy.default)
    return parse_reply(reply_text(msg), SENT.text, ASSIGNED, REPOS)


def check(parsed: ParsedReply, *, plan: str | None, scheduling: str | None = None,
          blockers: str | None = None, comments: dict | None = None, tickets: tuple = (),
          problems: tuple = (), unread: tuple = (), comment: str | None = None,
          note: str | None = None) -> None:
    """``unread``: the lines listed as not understood; ``comment``: lines that fit no field."""
    assert parsed.plan == plan
    assert parsed.scheduling == scheduling
    assert parsed.scheduling_note == note
    assert parsed.blockers == blockers
    assert parsed.repo_comments == (comments or {})
    assert parsed.planned_tickets == list(tickets)
    assert parsed.problems == list(problems) + ([] if plan else [PLAN_MISSING])
    assert parsed.unread == list(unread)
    assert parsed.comment == comment
    assert parsed.ok == (plan is not None)


GMAIL_ATTRIBUTION = f"On Wed, 25 Nov 2026 at 06:00, mailsup <{MAILSUP.split('<')[1]}\nwrote:"


# --------------------------------------------------------------------------
# Gmail


def test_gmail_top_post_short_form():
    text = ("plan: Ship the /status endpoint and start on dark mode\n"
            "scheduling: full day\ndone: api#130\nworking: web#45\n\n"
            f"{GMAIL_ATTRIBUTION}\n\n{gmail_plain_quote()}\n")
    html = ('<div dir="ltr">plan: Ship the /status endpoint and start on dark mode<div>'
            "scheduling: full day</div><div>done: api#130</div><div>working: web#45</div></div>"
            '<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Wed, 25 Nov 2026 '
            f"at 06:00, mailsup &lt;sup+s42x7k2q@mailsup.example&gt; wrote:<br></div>"
            f'<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex">{HTML_BODY}'
            "</blockquote></div>")
    raw = message(multipart("alternative", encode(text), encode(html, "html")))
    check(read(raw), plan="Ship the /status endpoint and start on dark mode",
          scheduling="full day", tickets=(done(API130), working(WEB45)))


def test_gmail_inline_answers_with_wrapped_attribution():
    body = answered(SENT.text, {
        PLAN_H: ["Finish the health checks, then pair with Bob on the queue."],
        SCHED_H: ["part day"],
        BLOCK_H: ["Waiting for staging credentials from ops."],
        API_H: ["CI is slow again"],
    }, edits={API_T: "[x] api#130 Add endpoint"})
    text = f"{GMAIL_ATTRIBUTION}\n\n{body}\n"
    raw = message(multipart("alternative", encode(text), encode(f"<div>{text}</div>", "html")))
    check(read(raw), plan="Finish the health checks, then pair with Bob on the queue.",
          scheduling="part day", blockers="Waiting for staging credentials from ops.",
          comments={"acme/api": "CI is slow again"}, tickets=(done(API130),))


def test_gmail_inline_under_the_html_rendering_it_quoted():
    quoted = gmail_plain_quote()
    for heading, typed in ((PLAN_H, "Deploy the endpoint\nWrite the runbook"),
                           (SCHED_H, "all day"), (WEB_H, "waiting for design review")):
        quoted = quoted.replace(f"> {heading}\n", f"> {heading}\n\n{typed}\n\n", 1)
    text = f"{GMAIL_ATTRIBUTION}\n\n{quoted}\n"
    check(read(message(encode(text))), plan="Deploy the endpoint\nWrite the runbook",
          scheduling="full day", comments={"acme/web": "waiting for design review"})


def test_gmail_rewrapped_quote_and_multi_line_plan():
    body = rewrap_quote(SENT.text, width=60)
    body = body.replace(f"> {PLAN_H}\n", f"> {PLAN_H}\n- review Bob's PR\n- migrate the "
                        "queue\n- demo at 3pm\n", 1)
    text = f"{GMAIL_ATTRIBUTION}\n{body}\n"
    check(read(message(encode(text))),
          plan="- review Bob's PR\n- migrate the queue\n- demo at 3pm")


def test_gmail_bottom_post_after_the_quote():
    text = (f"{GMAIL_ATTRIBUTION}\n\n{quote(SENT.text)}\n\nplan: clean up the backlog\n"
            "scheduling: emergency only\n")
    check(read(message(encode(text))), plan="clean up the backlog",
          scheduling="emergency only")


# --------------------------------------------------------------------------
# Outlook


OUTLOOK_HEADERS = (f"From: {MAILSUP}\nSent: Wednesday, November 25, 2026 6:00 AM\n"
                   f"To: {ALICE}\nSubject: {SENT.subject}\n")


def test_outlook_plain_text_original_message_block():
    text = ("Plan: Triage the login bugs – then the “status” page\n"
            "Scheduling: part-time\n\n"
            f"-----Original Message-----\n{OUTLOOK_HEADERS}\n{SENT.text}")
    raw = message(encode(text, charset="windows-1252"))
    check(read(raw), plan="Triage the login bugs – then the “status” page",
          scheduling="part day")


def test_outlook_plain_text_inline_in_unquoted_original():
    body = answered(SENT.text, {PLAN_H: ["[Alice] Release 2.3 to staging"],
                                BLOCK_H: ["[Alice] none"]},
                    edits={WEB_T: "[~] web#45 Dark mode"}, prefix="")
    text = f"See inline.\n\n-----Original Message-----\n{OUTLOOK_HEADERS}\n{body}"
    check(read(message(encode(text, cte="8bit"))), plan="Release 2.3 to staging",
          tickets=(working(WEB45),))


def _outlook_html(top: str, original: str) -> str:
    return ('<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>'
            '<style>p.MsoNormal{margin:0}</style></head><body><div class="WordSection1">'
            f"{top}"
            '<div id="Signature"><p class="MsoNormal">Alice Smith</p>'
            '<p class="MsoNormal">Plan: Platinum support | Blockers: none, ever</p></div>'
            '<hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg" dir="ltr">'
            f"<b>From:</b> mailsup &lt;sup+s42x7k2q@mailsup.example&gt;<br><b>Sent:</b> "
            "Wednesday, November 25, 2026 6:00 AM<br><b>To:</b> Alice Smith "
            f"&lt;alice@example.com&gt;<br><b>Subject:</b> {SENT.subject}</div>"
            f"<div>{original}</div></div></body></html>")


def test_outlook_html_only_top_post_with_field_like_signature():
    top = ('<p class="MsoNormal">plan: Pair with Bob on the queue migration</p>'
           '<p class="MsoNormal">blockers: the staging DB is down</p>')
    raw = message(encode(_outlook_html(top, HTML_BODY), "html"))
    check(read(raw), plan="Pair with Bob on the queue migration",
          blockers="the staging DB is down")


def test_outlook_html_only_inline_answers_in_unquoted_original():
    original = html_answered({PLAN_H: ["Finish the status page", "Then update the docs"],
                              "Scheduling (full day, part day, emergency only, unavailable):":
                                  ["Half day"],
                              API_H: ["Need a review of #130"],
                              BLOCK_H: ["Waiting on the API keys"]},
                             edits={API_T: "[X] api#130 Add endpoint"})
    raw = message(encode(_outlook_html("", original), "html", cte="base64"))
    check(read(raw), plan="Finish the status page\nThen update the docs",
          scheduling="part day", blockers="Waiting on the API keys",
          comments={"acme/api": "Need a review of #130"}, tickets=(done(API130),))


def test_outlook_heading_with_answer_on_the_same_line():
    body = quote(SENT.text, prefix="").replace(
        f"{PLAN_H}\n", f"{PLAN_H} Refactor the auth module\n").replace(
        f"{SCHED_H}\n", f"{SCHED_H[:-1]}: Full day\n")
    text = f"\n\n________________________________\n{OUTLOOK_HEADERS}\n{body}"
    check(read(message(encode(text))), plan="Refactor the auth module", scheduling="full day")


def test_outlook_for_android_footer():
    text = ("plan: On the train, will review PRs from the phone\nscheduling: morning only\n\n"
            f"Get Outlook for Android\n________________________________\n{OUTLOOK_HEADERS}\n"
            f"{SENT.text}")
    check(read(message(encode(text))), plan="On the train, will review PRs from the phone",
          scheduling="part day")


# --------------------------------------------------------------------------
# Apple Mail, Thunderbird, mobile


APPLE_ATTRIBUTION = f"On 25 Nov 2026, at 06:00, {MAILSUP} wrote:"


def test_apple_mail_plain_flowed_inline():
    # Apple Mail writes format=flowed: soft line breaks end in a space.
    body = answered(SENT.text, {PLAN_H: ["Write the migration for the queue tables and run it ",
                                         "on staging"],
                                SCHED_H: ["Full-time"]},
                    edits={WEB_T: "[working] web#45 Dark mode"})
    text = f"\n\n{APPLE_ATTRIBUTION}\n\n{body}\n\nThanks,\nAlice\n"
    raw = message(encode(text, params="; format=flowed; delsp=no"))
    check(read(raw), plan="Write the migration for the queue tables and run it on staging",
          scheduling="full day", tickets=(working(WEB45),))


def test_apple_mail_html_only_inline_between_cite_blockquotes():
    first, rest = HTML_BODY.split(f"{PLAN_H}</p>", 1)
    html = ('<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8">'
            '</head><body dir="auto"><div dir="ltr"></div><div dir="ltr"><br>'
            f'<blockquote type="cite">{APPLE_ATTRIBUTION.replace("<", "&lt;")}</blockquote></div>'
            f'<blockquote type="cite"><div dir="ltr">{first}{PLAN_H}</p></div></blockquote>'
            "<div>Onboard the new contractor</div><div>Fix the flaky test</div>"
            f'<blockquote type="cite"><div dir="ltr">{rest}</div></blockquote></body></html>')
    check(read(message(encode(html, "html"))),
          plan="Onboard the new contractor\nFix the flaky test")


def test_thunderbird_plain_inline_with_signature_at_the_bottom():
    body = answered(SENT.text, {PLAN_H: ["Release notes, then the dark mode toggle"],
                                BLOCK_H: ["Nothing"]},
                    edits={API_T: "[done] api#130 Add endpoint", WEB_T: "[w] web#45 Dark mode"})
    text = (f"On 25/11/2026 06:00, mailsup wrote:\n{body}\n\n-- \nAlice Smith\n"
            "Plan: Platinum support\nBlockers: none, ever\n")
    check(read(message(encode(text, cte="7bit"))), plan="Release notes, then the dark mode toggle",
          tickets=(done(API130), working(WEB45)))


def test_thunderbird_html_moz_cite_prefix():
    html = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
            '</head><body><p>plan: Performance profiling of the API<br>'
            "scheduling: on call<br>comment api: p95 is 2s on /login</p>"
            '<div class="moz-signature">-- <br>Alice<br>Plan: Platinum support</div>'
            '<div class="moz-cite-prefix">On 25.11.26 06:00, mailsup wrote:<br></div>'
            f'<blockquote type="cite" cite="mid:5f1c0e2a9b@mailsup.example">{HTML_BODY}'
            "</blockquote></body></html>")
    check(read(message(encode(html, "html"))), plan="Performance profiling of the API",
          scheduling="emergency only", comments={"acme/api": "p95 is 2s on /login"})


def test_iphone_top_post_base64():
    text = ("Plan: Customer call, then review Bob’s PR 🚀\nScheduling: half day\n\n"
            f"Sent from my iPhone\n\n> {APPLE_ATTRIBUTION}\n>\n{quote(SENT.text)}\n")
    raw = message(encode(text, cte="base64"))
    check(read(raw), plan="Customer call, then review Bob’s PR 🚀", scheduling="part day")


def test_iphone_inline_answer_then_sent_from_footer():
    body = answered(SENT.text, {BLOCK_H: ["VPN broken since yesterday", "", "Sent from my iPhone"],
                                PLAN_H: ["Fix VPN first"]})
    text = f"> {APPLE_ATTRIBUTION}\n>\n{body}\n"
    check(read(message(encode(text))), plan="Fix VPN first",
          blockers="VPN broken since yesterday")


def test_android_gmail_top_post():
    text = (f"done: acme/api#130\nplan: Wrap up, early finish\nscheduling: afternoon\n\n"
            f"{GMAIL_ATTRIBUTION}\n\n{quote(SENT.text)}\n")
    check(read(message(encode(text))), plan="Wrap up, early finish", scheduling="part day",
          tickets=(done(API130),))


# --------------------------------------------------------------------------
# Non-English clients and charsets


def test_german_client_inline_with_sign_off():
    body = answered(SENT.text, {PLAN_H: ["Code-Review für Bob, danach Straßen-Import"],
                                BLOCK_H: ["Warte auf Zugang zum Staging", "", "Viele Grüße",
                                          "Alice"]})
    text = ("Am Mi., 25. Nov. 2026 um 06:00 Uhr schrieb mailsup <sup+s42x7k2q@mailsup.example>:"
            f"\n\n{body}\n")
    check(read(message(encode(text, charset="iso-8859-1"))),
          plan="Code-Review für Bob, danach Straßen-Import",
          blockers="Warte auf Zugang zum Staging")


def test_french_client_top_post_latin1_quoted_printable():
    text = ("plan : Réunion client, préparer la démo\nscheduling: vacation\n\n"
            "Le mer. 25 nov. 2026 à 06:00, mailsup <sup+s42x7k2q@mailsup.example> a écrit :\n"
            f"{quote(SENT.text)}\n")
    raw = message(encode(text, charset="iso-8859-1"))
    assert b"R=E9union" in raw
    check(read(raw), plan="Réunion client, préparer la démo", scheduling="unavailable")


def test_spanish_client_inline():
    body = answered(SENT.text, {PLAN_H: ["Terminar la migración"], SCHED_H: ["partial"]})
    text = ("El mié, 25 nov 2026 a las 6:00, mailsup (<sup+s42x7k2q@mailsup.example>) escribió:\n"
            f"{body}\n")
    check(read(message(encode(text, cte="8bit"))), plan="Terminar la migración",
          scheduling="part day")


def test_dutch_client_top_post():
    text = ("Plan = Bugfixes voor de release\nScheduling - 100%\nworking: web#45\n\n"
            f"Op wo 25 nov. 2026 om 06:00 schreef mailsup <sup+s42x7k2q@mailsup.example>:\n\n"
            f"{quote(SENT.text)}\n\nMet vriendelijke groet,\nAlice\n")
    check(read(message(encode(text))), plan="Bugfixes voor de release", scheduling="full day",
          tickets=(working(WEB45),))


def test_windows_1252_smart_quotes_8bit():
    text = ("plan - Fix the “remember me” checkbox – and ship it…\n\n"
            f"From: {MAILSUP}\nSent: Wednesday, November 25, 2026 6:00 AM\nTo: {ALICE}\n"
            f"Subject: {SENT.subject}\n\n{SENT.text}")
    raw = message(encode(text, charset="windows-1252", cte="8bit"))
    check(read(raw), plan="Fix the “remember me” checkbox – and ship it…")


def test_latin1_declared_but_really_cp1252_and_bogus_charset():
    text = "plan: Café – “quotes”\n"
    raw = message(encode(text, charset="windows-1252", cte="8bit").replace(
        b'charset="windows-1252"', b'charset="iso-8859-1"'))
    check(read(raw), plan="Café – “quotes”")
    bogus = message(encode("plan: Ünïcode works\n", cte="8bit").replace(
        b'charset="utf-8"', b'charset="x-no-such-charset"'))
    check(read(bogus), plan="Ünïcode works")


def test_html_only_yahoo_blockquote_inline():
    html = html_answered({PLAN_H: ["Write the quarterly report"],
                          BLOCK_H: ["Laptop died, waiting for a new one"]})
    html = ('<html><body><div class="ydp1">See my answers below.</div>'
            '<div class="yahoo_quoted"><div>On Wednesday, November 25, 2026, 06:00:00 AM GMT+1, '
            f"mailsup &lt;sup+s42x7k2q@mailsup.example&gt; wrote:</div><blockquote>{html}"
            "</blockquote></div></body></html>")
    check(read(message(encode(html, "html"))), plan="Write the quarterly report",
          blockers="Laptop died, waiting for a new one")


# --------------------------------------------------------------------------
# Ticket marks, short-form keys, scheduling words, comments


@pytest.mark.parametrize(("api_mark", "web_mark", "tickets"), [
    ("[x]", "[~]", (done(API130), working(WEB45))),
    ("[X]", "[ ]", (done(API130),)),
    ("[✓]", "[w]", (done(API130), working(WEB45))),
    ("[ ]", "[done]", (done(WEB45),)),
])
def test_checkbox_edits_on_quoted_ticket_lines(api_mark, web_mark, tickets):
    body = answered(SENT.text, {PLAN_H: ["Tickets as marked"]},
                    edits={API_T: f"{api_mark} api#130 Add endpoint",
                           WEB_T: f"{web_mark} web#45 Dark mode"})
    text = f"{GMAIL_ATTRIBUTION}\n{body}\n"
    check(read(message(encode(text))), plan="Tickets as marked", tickets=tickets)


def test_done_and_working_lines_in_every_spelling():
    text = ("plan: tickets\ndone: #130\nworking: acme/web#45\n\n"
            f"{GMAIL_ATTRIBUTION}\n{quote(SENT.text)}\n")
    check(read(message(encode(text))), plan="tickets", tickets=(done(API130), working(WEB45)))
    text = "PLAN: both\nDone: api#130, web#45\n"
    check(read(message(encode(text))), plan="both", tickets=(done(API130), done(WEB45)))


@pytest.mark.parametrize(("written", "value"), [
    ("full", "full day"), ("all day", "full day"), ("100%", "full day"),
    ("Half day", "part day"), ("half", "part day"), ("part-time", "part day"),
    ("morning only", "part day"), ("emergencies only", "emergency only"),
    ("emergency", "emergency only"), ("off", "unavailable"), ("PTO", "unavailable"),
    ("holiday", "unavailable"), ("sick", "unavailable"), ("out", "unavailable"),
    ("away", "unavailable"),
])
def test_scheduling_synonyms(written, value):
    text = f"plan: see scheduling\nscheduling: {written}\n\n{GMAIL_ATTRIBUTION}\n{quote(SENT.text)}"
    check(read(message(encode(text))), plan="see scheduling", scheduling=value)


def test_scheduling_note_after_a_dash():
    text = (f"plan: x\nscheduling: Part day - dentist at 3\n\n{GMAIL_ATTRIBUTION}\n"
            f"{quote(SENT.text)}")
    check(read(message(encode(text))), plan="x", scheduling="part day", note="dentist at 3")


def test_comment_lines_short_and_full_repo_names():
    text = ("plan: comments\ncomment api: flaky CI on main\ncomment acme/web: design is late\n"
            "Comment on api: and the runners are slow\n\n"
            f"{GMAIL_ATTRIBUTION}\n{quote(SENT.text)}\n")
    check(read(message(encode(text))), plan="comments",
          comments={"acme/api": "flaky CI on main\nand the runners are slow",
                    "acme/web": "design is late"})


def test_multi_line_short_form_plan_until_blank_line():
    text = ("Hi,\n\nplan:\n- finish the endpoint\n- review two PRs\nmore on the PRs\n"
            "blockers: waiting for ops\nstill waiting\n\nscheduling: full day\n\n"
            f"Cheers,\nAlice\n\n{GMAIL_ATTRIBUTION}\n{quote(SENT.text)}\n")
    check(read(message(encode(text))),
          plan="- finish the endpoint\n- review two PRs\nmore on the PRs",
          blockers="waiting for ops\nstill waiting", scheduling="full day")


def test_signature_with_field_words_is_never_read():
    text = ("plan: the real plan\n\n-- \nAlice Smith | Acme Corp\nPlan: Platinum support\n"
            f"Blockers: none, ever\nScheduling: 24/7\n\n{GMAIL_ATTRIBUTION}\n{quote(SENT.text)}\n")
    check(read(message(encode(text))), plan="the real plan")


def test_client_stripped_markdown_and_indented_quote():
    stripped = re.sub(r"(?m)^#+ ", "", SENT.text)
    body = "\n".join(">     " + line if line else ">" for line in stripped.split("\n"))
    body = body.replace(f">     {PLAN_H}\n", f">     {PLAN_H}\n    Indented plan line\n")
    text = f"{GMAIL_ATTRIBUTION}\n{body}\n"
    check(read(message(encode(text))), plan="Indented plan line")


def test_attachment_and_forwarded_mail_are_not_the_reply():
    attachment = (b'Content-Type: text/plain; name="notes.txt"\n'
                  b'Content-Disposition: attachment; filename="notes.txt"\n\nplan: WRONG\n')
    forwarded = (b"Content-Type: message/rfc822\n\nFrom: x@y\nSubject: fw\n\nplan: ALSO WRONG\n")
    raw = message(multipart("mixed", encode("plan: from the body\n"), attachment, forwarded,
                            boundary="mixed-1"))
    check(read(raw), plan="from the body")


def test_plan_copied_from_last_time_is_still_an_answer():
    body = answered(SENT.text, {PLAN_H: ["Finish the login fix"]})
    check(read(message(encode(f"{GMAIL_ATTRIBUTION}\n{body}\n"))), plan="Finish the login fix")


def test_outlook_plain_reply_to_the_html_alternative_reads_no_examples():
    # Outlook converts the HTML it showed, unquoted: the short-form examples (from the
    # developer's own tickets) and the "Reply with my plan" line stand as lines of their own.
    shown = gmail_plain_quote().replace("> ", "").replace("\n>", "\n")
    assert '\n"done: api#130" (a ticket you expect to finish)\n' in shown
    assert '\n"working: web#45" (a ticket you are working on)\n' in shown
    assert "Short on time? Reply with my plan - a reply with just" in shown
    text = f"plan: only this\n\n-----Original Message-----\n{OUTLOOK_HEADERS}\n{shown}"
    check(read(message(encode(text))), plan="only this")


def test_typing_the_mails_own_examples_is_an_answer():
    # The short form's examples are the developer's own tickets ("done: api#130"); typed
    # alone, as the answer form writes them, they are answers, not the mail's text.
    assert '"scheduling: part day"' in SENT.text and '"done: api#130"' in SENT.text
    text = "plan: x\nscheduling: part day\ndone: api#130\nworking: web#45\n"
    check(read(message(encode(text))), plan="x", scheduling="part day",
          tickets=(done(API130), working(WEB45)))
    quoted = f"{text}\n{GMAIL_ATTRIBUTION}\n{quote(SENT.text)}\n"
    check(read(message(encode(quoted))), plan="x", scheduling="part day",
          tickets=(done(API130), working(WEB45)))


def test_text_part_empty_falls_back_to_html_and_broken_base64_is_survived():
    html = encode("<p>plan: from html</p>", "html")
    raw = message(multipart("alternative", encode("  \n"), html))
    check(read(raw), plan="from html")
    broken = message(b'Content-Type: text/plain; charset="utf-8"\n'
                     b"Content-Transfer-Encoding: base64\n\ncGxhbjogb2sK!!!*\n")
    assert isinstance(reply_text(email.message_from_bytes(broken, policy=policy.default)), str)


# --------------------------------------------------------------------------
# Replies without a plan are refused; a plan carries the rest, unclear or not


def test_refused_without_a_plan():
    text = f"scheduling: full day\ndone: api#130\n\n{GMAIL_ATTRIBUTION}\n{quote(SENT.text)}\n"
    check(read(message(encode(text))), plan=None, scheduling="full day",
          tickets=(done(API130),))


def test_unknown_scheduling_value_is_listed_and_the_plan_applies():
    text = f"plan: stuff\nscheduling: sometimes\n\n{GMAIL_ATTRIBUTION}\n{quote(SENT.text)}\n"
    check(read(message(encode(text))), plan="stuff", unread=("scheduling: sometimes",),
          problems=('unknown scheduling value "sometimes"; use one of: full day, part day, '
                    'emergency only, unavailable (e.g. "scheduling: part day (dentist at '
                    '15:00)")',))


def test_unknown_ticket_is_listed_and_the_plan_applies():
    text = f"plan: stuff\ndone: web#99\n\n{GMAIL_ATTRIBUTION}\n{quote(SENT.text)}\n"
    check(read(message(encode(text))), plan="stuff", unread=("done: web#99",),
          problems=('unknown ticket "web#99": not among your assigned tickets (api#130, '
                    'web#45); mark one of those, e.g. "done: api#130"',))


def test_refused_empty_reply():
    check(read(message(encode(""))), plan=None)
    check(read(message(b"Content-Type: text/plain\n\n")), plan=None)


def test_refused_thanks_only():
    text = f"Thanks!\n\nSent from my iPhone\n\n{GMAIL_ATTRIBUTION}\n{quote(SENT.text)}\n"
    check(read(message(encode(text))), plan=None)


def test_comment_on_unknown_repository_is_listed():
    text = "plan: x\ncomment infra: the cluster is down\n"
    check(read(message(encode(text))), plan="x", unread=("comment infra: the cluster is down",),
          problems=('unknown repository "infra" (e.g. "comment api: …"); use one of: '
                    "acme/api, acme/web",))


def test_free_text_without_labels_is_the_plan():
    text = f"I will do the usual things today.\n\n{GMAIL_ATTRIBUTION}\n{quote(SENT.text)}\n"
    parsed = read(message(encode(text)))
    check(parsed, plan="I will do the usual things today.")
    assert parsed.plan_source == "text"


# --------------------------------------------------------------------------
# Properties


def test_as_fields_is_what_a_sup_stores():
    parsed = read(message(encode("plan: a\nscheduling: off\nblockers: b\ndone: api#130\n")))
    assert parsed.as_fields() == {
        "plan": "a", "scheduling": "unavailable", "scheduling_note": None, "blockers": "b",
        "repo_comments": {}, "planned_tickets": [done(API130)], "comment": None}


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400),
       st.sampled_from(["", SENT.text, quote(SENT.text)]))
def test_random_text_never_raises(noise, tail):
    parsed = parse_reply(noise + "\n" + tail, SENT.text, ASSIGNED, REPOS)
    assert isinstance(parsed.problems, list)
    assert parsed.ok == (parsed.plan is not None)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_as_a_mail_never_raise(raw):
    msg = email.message_from_bytes(message(raw), policy=policy.default)
    assert isinstance(reply_text(msg), str)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["> ", ">", "> > ", ">> ", "  > "]), st.sampled_from([0, 40, 60, 78]),
       st.booleans())
def test_unchanged_quote_yields_nothing(prefix, width, attribution):
    body = rewrap_quote(SENT.text, width, prefix) if width else quote(SENT.text, prefix)
    text = f"{GMAIL_ATTRIBUTION}\n{body}\n" if attribution else body
    check(parse_reply(text, SENT.text, ASSIGNED, REPOS), plan=None)
