"""What the mails say and link, rendered by the functions that send them (issue 11 part B).

Each issue or PR of the footprint is listed once with all its events and
linked to GitHub; the "Reply with my plan" button is a percent-encoded
mailto: to the SUP's signed address; examples come from the recipient's own
tickets and repositories. The layout at 390 px is measured in Chromium by
tests/test_screenshots.py.
"""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from urllib.parse import parse_qs, unquote, urlsplit

from mailsup.models import Client, Person, Sup
from mailsup.outbound import compose, messages

PR = {"number": 131, "title": "Orders: paginate results", "url":
      "https://github.com/acme/api/pull/131", "commits": "Add cursor pagination"}
FOOTPRINT = {
    "repos": {"acme/api": {
        "issues_opened": [{"number": 128, "title": "Login loops",
                           "url": "https://github.com/acme/api/issues/128"}],
        "issues_closed": [{"number": 128, "title": "Login loops",
                           "url": "https://github.com/acme/api/issues/128"}],
        "prs_opened": [PR], "prs_merged": [PR],
        "commits": [{"sha": "9f1c2ab3d4e5f6", "message": "Fix a typo",
                     "url": "https://github.com/acme/api/commit/9f1c2ab3d4e5f6"}]}},
    "assigned": [{"repo": "acme/portal", "number": 7, "title": "Export",
                  "url": "https://github.com/acme/portal/issues/7"},
                 {"repo": "acme/api", "number": 140, "title": "Orders endpoint"}],
}
ADDRESS = "sup+s42-k3j9x0q2mz7a5bcd@example.com"


def sup(footprint=FOOTPRINT, **fields) -> Sup:
    return Sup(**{"id": 42, "developer": Person(id=1, name="Alice Smith",
                                                email="alice@example.com"),
                  "client": Client(id=1, name="Acme Corp", slug="acme"),
                  "day": date(2026, 11, 25), "status": "open", "footprint": footprint}
               | fields)


def hrefs(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="([^"]+)"', html)]


def test_a_pr_opened_and_merged_is_listed_once_with_both_events_and_linked():
    mail = compose.render(messages.sup_request(sup(), reply_address=ADDRESS))
    assert mail.text.count("#131") == 1
    assert "- #131 Orders: paginate results (opened, merged): Add cursor pagination" \
        in mail.text
    assert mail.text.count("#128") == 1 and "#128 Login loops (opened, closed)" in mail.text
    links = hrefs(mail.html)
    assert links.count("https://github.com/acme/api/pull/131") == 1
    assert "https://github.com/acme/api/issues/128" in links
    assert "https://github.com/acme/api/commit/9f1c2ab3d4e5f6" in links
    # The assigned tickets' checkbox lines are edited in the reply: no link to tap by mistake.
    assert "https://github.com/acme/portal/issues/7" not in links
    assert '<a href="https://github.com/acme/api/pull/131" style="color:#2563eb;">#131</a>' \
        in mail.html


def test_the_reply_button_is_a_percent_encoded_mailto_to_the_signed_address():
    one = sup()
    mail = compose.render(messages.sup_request(one, reply_address=ADDRESS))
    [button] = [h for h in hrefs(mail.html) if h.startswith("mailto:")]
    parts = urlsplit(button)
    assert unquote(parts.path) == ADDRESS
    assert "+" not in parts.query  # a space is %20: "+" means "+" in mailto (RFC 6068)
    query = parse_qs(parts.query)
    assert query["body"] == ["plan: "]
    assert query["subject"] == ["Re: " + messages.sup_subject(one)]
    assert "Reply with my plan</a>" in mail.html
    # No address given (a preview of a SUP not created yet): the words, no button.
    bare = compose.render(messages.sup_request(sup()))
    assert "mailto:" not in bare.html and "Reply with my plan" in bare.html


def test_the_refusal_and_a_reminder_carry_the_button_too():
    one = sup()
    refusal = compose.render(messages.refusal(one, {"plan": None}, ["no plan"], [],
                                              "Re: [SUP 42] x", reply_address=ADDRESS))
    assert any(h.startswith(f"mailto:{ADDRESS}?subject=Re%3A%20%5BSUP%2042%5D%20x&body=plan"
                            "%3A%20") for h in hrefs(refusal.html))
    nag = compose.render(messages.nag(one.developer, [one], [ADDRESS]))
    assert any(h.startswith(f"mailto:{ADDRESS}?") and h.endswith("&body=plan%3A%20")
               for h in hrefs(nag.html))


def test_examples_come_from_the_recipients_own_tickets_and_repos():
    mails = [compose.render(m) for m in (
        messages.sup_request(sup(), reply_address=ADDRESS),
        messages.refusal(sup(), {"plan": None}, ["no plan"], []),
        messages.help_answer(sup()))]
    for mail in mails:
        for part in (mail.text, mail.html):
            assert "done: portal#7" in part and "working: api#140" in part
            assert "comment api: ..." in part
            assert "api#130" not in part and "web#45" not in part
    # Nobody assigned anything: no ticket example at all, and no repository example
    # when the footprint names none.
    for mail in (compose.render(messages.sup_request(sup(footprint=None))),
                 compose.render(messages.help_answer(sup(footprint={})))):
        for part in (mail.text, mail.html):
            assert "done:" not in part and "working:" not in part and "comment " not in part
            assert "plan: ..." in part and "blockers: ..." in part


def test_the_hr_digest_examples_use_the_digests_own_sup_numbers():
    hana = Person(id=5, name="Hana HR", email="hana@example.com")
    client = Client(id=1, name="Acme Corp", slug="acme", hr=hana)
    one = sup(status="submitted", plan="ship it", scheduling="full day")
    other = Sup(id=57, developer=Person(id=2, name="Bob Jones", email="bob@example.com"),
                client=client, day=date(2026, 11, 25), status="submitted", plan="x")
    mail = compose.render(messages.hr_digest(client, [one, other], set(), date(2026, 11, 25)))
    for part in (mail.text, mail.html):
        assert "reviewed 42 57" in part and "note 42: text" in part and "flag 42" in part
        assert "reviewed 42 43" not in part


def test_footprint_notes_reach_developers_in_their_words():
    from mailsup.github import footprints

    notes = [footprints.NOT_CONFIGURED,
             "no repositories are listed for Acme Corp; add [[repos]] to the directory or run "
             "`mailsup directory sync-github`",
             "no GitHub login is known for you; ask the operator to add `github = ...`",
             "footprint unavailable (rate limit exhausted until 07:00); it will be included "
             "in your next SUP",
             "acme/legacy: Resource not accessible by integration (403); "
             "acme/gone: repository not found (404)"]
    for note in notes:
        mail = compose.render(messages.sup_request(sup(footprint_note=note)))
        for part in (mail.text, mail.html):
            for jargon in ("[github]", "token", "[[repos]]", "`", "directory", "403", "404",
                           "operator", "footprint"):
                assert jargon not in part.lower(), (note, jargon)
    mail = compose.render(messages.sup_request(sup(footprint_note=notes[0])))
    # Not set up is not an outage: no "today" (a new user read it as GitHub being down).
    assert "mailsup does not read GitHub for your team" in mail.text
    assert "today" not in mail.text.split("GitHub for your team")[1].split("\n")[0]
    mail = compose.render(messages.sup_request(sup(footprint_note=notes[1])))
    assert "reads no GitHub repositories for this client yet" in mail.text
    mail = compose.render(messages.sup_request(sup(footprint_note=notes[-1])))
    assert "could not be read today (acme/legacy, acme/gone)" in mail.text


def test_a_missing_value_is_written_one_way_in_every_mail():
    from mailsup.outbound import context

    hana = Person(id=5, name="Hana HR", email="hana@example.com")
    client = Client(id=1, name="Acme Corp", slug="acme", hr=hana)
    open_one = sup(status="submitted", plan="ship it", scheduling=None)
    fields = {"plan": "ship it", "scheduling": None, "blockers": None, "planned_tickets": [],
              "repo_comments": {}}
    receipt = compose.render(messages.receipt(open_one, fields, "submitted",
                                              False))
    digest = compose.render(messages.hr_digest(client, [open_one], set(), open_one.day))
    entry = context.team_entry(open_one.developer, open_one)
    team = compose.render(messages.team_digest(open_one.developer, [{
        "team_id": 1, "team_name": "Platform", "client_name": "Acme Corp", "org": "acme",
        "team_slug": "platform", "day": open_one.day, "day_long": "Wednesday 25 November 2026",
        "entries": [entry], "missing": [], "previous_day": None, "missed": []}]))
    assert "Scheduling: not given" in receipt.text and "Scheduling: not given" in digest.text
    assert "Alice Smith: scheduling not given" in team.text
    for mail in (receipt, digest, team):
        for part in (mail.text, mail.html):
            assert "(not given)" not in part and "Scheduling: -" not in part
