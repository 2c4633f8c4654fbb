"""The answer form's fields become the short form a developer could have mailed."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from mailsup.inbound.reading.sup_reply import parse_reply
from mailsup.web.form_reply import current_values, reply_text, ticket_marks

ASSIGNED = [{"repo": "acme/api", "number": 130, "title": "Orders"},
            {"repo": "acme/web-app", "number": 45, "title": "Dark mode"}]
REPOS = ["acme/api", "acme/web-app"]


def read(form: MultiDict):
    done, working, problems = ticket_marks(form)
    text = reply_text(form, done, working)
    return text, parse_reply(text, "", ASSIGNED, REPOS), problems


def test_every_field_of_the_contract_becomes_its_short_form_line():
    form = MultiDict({"plan": "ship the endpoint\n\n  then review  \n", "scheduling": "half day",
                      "ticket-acme/api-130": "done", "ticket-acme/web-app-45": "working",
                      "comment-acme/api": "merged yesterday", "blockers": "staging is down"})
    text, parsed, problems = read(form)
    assert text == ("plan: ship the endpoint\nthen review\nscheduling: half day\n"
                    "done: acme/api#130\nworking: acme/web-app#45\n"
                    "comment acme/api: merged yesterday\nblockers: staging is down\n")
    assert problems == [] and parsed.ok
    assert (parsed.plan, parsed.scheduling, parsed.blockers) == (
        "ship the endpoint\nthen review", "part day", "staging is down")
    assert [(t["number"], t["expect_done"]) for t in parsed.planned_tickets] == [
        (130, True), (45, False)]
    assert parsed.repo_comments == {"acme/api": "merged yesterday"}


def test_an_emptied_blockers_field_says_none_and_a_missing_one_says_nothing():
    assert "blockers: none" in read(MultiDict({"plan": "x", "blockers": " "}))[0]
    assert read(MultiDict({"plan": "x", "blockers": ""}))[1].blockers is None
    assert "blockers" not in read(MultiDict({"plan": "x"}))[0]


def test_ticket_fields_that_are_not_the_contract_are_problems():
    _, _, problems = read(MultiDict({"plan": "x", "ticket-api": "done",
                                     "ticket-acme/api-130": "finished"}))
    assert len(problems) == 2 and "ticket-<repo>-<number>" in problems[0]
    assert "must be done, working or empty" in problems[1]
    _, parsed, problems = read(MultiDict({"plan": "x", "ticket-acme/api-999": "done"}))
    assert problems == [] and not parsed.ok and "unknown ticket" in parsed.problems[0]


def test_no_plan_is_refused_by_the_reader_as_a_reply_would_be():
    _, parsed, _ = read(MultiDict({"scheduling": "full day"}))
    assert not parsed.ok and parsed.plan is None


def test_the_form_starts_from_what_the_sup_holds():
    from mailsup.models import Sup

    sup = Sup(plan="p", scheduling="part day", blockers=None, repo_comments={"acme/api": "c"},
              planned_tickets=[{"repo": "acme/api", "number": 130, "expect_done": True}])
    values = current_values(sup)
    assert values["plan"] == "p" and values["ticket-acme/api-130"] == "done"
    assert values["comment-acme/api"] == "c" and values["blockers"] == ""
