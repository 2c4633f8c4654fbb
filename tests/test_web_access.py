"""Who sees what on the pages, decided on the server (design §12), page × role.

Flask's test client against the real app and database (SQLite and PostgreSQL):
sign-in goes through ``/login`` and the link in the queued mail, every form
carries its CSRF token. A page outside a role is a 404 that looks like any
other; HR-only fields appear only for the client's HR worker and management.
"""

from __future__ import annotations

import json

import pytest

from mailsup.web.app import create_app
from tests.support.web import HR_FLAG, HR_NOTE, MANAGEMENT, PEOPLE, Browser, build

ROLES = ("alice", "bob", "carol", "dan", "hana", "gus", "boss", "anonymous")


@pytest.fixture
def world(make_settings, tmp_path):
    settings = make_settings(extra="[web]\nlisten =\nbase_url = http://pages.test\n",
                             mailsup_extra=MANAGEMENT)
    return build(settings, tmp_path)


@pytest.fixture
def app(world):
    return create_app(world.settings, clock=lambda: world.now, send_soon=lambda: None)


@pytest.fixture
def browsers(app):
    """One signed-in browser per role (and one that never signs in)."""
    made = {who: Browser(app).sign_in(PEOPLE[who][0]) for who in ROLES if who != "anonymous"}
    made["anonymous"] = Browser(app)
    return made


def pages(world) -> dict[str, str]:
    alice, carol = world.sup("alice", 0), world.sup("carol", 0)
    day = alice.day.isoformat()
    return {
        "home": "/",
        "alice_sup": f"/sups/{alice.id}",
        "alice_answer": f"/sups/{alice.id}/answer",
        "carol_sup": f"/sups/{carol.id}",
        "alice_page": "/people/alice@example.com",
        "alice_json": "/people/alice@example.com.json",
        "acme": "/clients/acme",
        "acme_csv": "/clients/acme.csv",
        "platform_day": f"/teams/acme/platform/{day}",
        "mobile_day": f"/teams/globex/mobile/{day}",
        "hr": "/hr",
        "hr_globex": "/hr?client=globex",
        "hr_json": "/hr.json?status=all",
        "ops": "/ops",
        "my_csv": "/sups.csv",
    }


# 200 = shown, 404 = outside the role, 302 = to sign-in (or, for "/", HR's queue).
EXPECTED = {
    #               alice bob carol dan  hana gus  boss anonymous
    "home":         (200, 200, 200, 200, 302, 302, 302, 302),
    "alice_sup":    (200, 404, 404, 200, 200, 404, 200, 302),
    "alice_answer": (200, 404, 404, 404, 404, 404, 404, 302),
    "carol_sup":    (404, 404, 200, 404, 404, 200, 200, 302),
    "alice_page":   (200, 404, 404, 200, 200, 404, 200, 302),
    "alice_json":   (200, 404, 404, 200, 200, 404, 200, 302),
    "acme":         (404, 404, 404, 200, 200, 404, 200, 302),
    "acme_csv":     (404, 404, 404, 200, 200, 404, 200, 302),
    "platform_day": (200, 200, 404, 200, 200, 404, 200, 302),
    "mobile_day":   (404, 404, 200, 404, 404, 200, 200, 302),
    "hr":           (404, 404, 404, 404, 200, 200, 200, 302),
    "hr_globex":    (404, 404, 404, 404, 404, 200, 200, 302),
    "hr_json":      (404, 404, 404, 404, 200, 200, 200, 302),
    "ops":          (404, 404, 404, 404, 404, 404, 200, 302),
    "my_csv":       (200, 200, 200, 200, 200, 200, 200, 302),
}


def test_every_page_for_every_role(world, browsers):
    paths, seen, wrong = pages(world), {}, []
    for page, expected in EXPECTED.items():
        for who, status in zip(ROLES, expected, strict=True):
            got = browsers[who].get(paths[page])
            seen[(page, who)] = got
            if got.status_code != status:
                wrong.append(f"{who} {paths[page]}: {got.status_code}, expected {status}")
            body = got.get_data(as_text=True)
            assert "Traceback" not in body
    assert wrong == []
    # A 404 for "not yours" is word for word the 404 for "does not exist".
    missing = browsers["bob"].get("/sups/999999").get_data(as_text=True)
    assert seen[("alice_sup", "bob")].get_data(as_text=True) == missing
    assert seen[("alice_sup", "anonymous")].headers["Location"].startswith("/login?next=")


def test_hr_only_fields_only_for_hr_of_the_client_and_management(world, browsers):
    paths = pages(world)
    for who in ("alice", "dan"):
        for page in ("alice_sup", "alice_page", "platform_day"):
            body = browsers[who].get(paths[page]).get_data(as_text=True)
            assert HR_NOTE not in body and HR_FLAG not in body, (who, page)
        exported = browsers[who].get(paths["alice_json"]).get_data(as_text=True)
        assert HR_NOTE not in exported and "hr_notes" not in exported and HR_FLAG not in exported
        assert "reviewed_by" not in exported
        csv = browsers[who].get(paths["my_csv"]).get_data(as_text=True)
        assert "hr_notes" not in csv.splitlines()[0]
    for who in ("hana", "boss"):
        body = browsers[who].get(paths["alice_sup"]).get_data(as_text=True)
        assert HR_NOTE in body and HR_FLAG in body and "Mark reviewed" in body
        records = json.loads(browsers[who].get(paths["alice_json"]).get_data(as_text=True))
        assert any(HR_NOTE in json.dumps(r.get("hr_notes")) for r in records)
    assert HR_NOTE in browsers["hana"].get("/hr?status=all").get_data(as_text=True)


def test_hr_of_one_client_never_sees_the_other(world, browsers):
    gus = browsers["gus"]
    listed = json.loads(gus.get("/hr.json?status=all").get_data(as_text=True))
    assert listed and {r["client"] for r in listed} == {"globex"}
    assert gus.get("/hr?client=acme").status_code == 404
    assert gus.get(f"/sups/{world.sup('alice', 0).id}").status_code == 404
    # Acting on another client's SUP is refused and changes nothing.
    alice = world.sup("alice", 1)
    refused = gus.post("/hr/act", {"action": "review", "sup": str(alice.id)}, form_from="/hr")
    assert refused.status_code == 404
    assert world.sup("alice", 1).status == "submitted"
    hana = json.loads(browsers["hana"].get("/hr.json?status=all").get_data(as_text=True))
    assert {r["client"] for r in hana} == {"acme"}


def test_hr_reviews_many_adds_a_note_and_flags(world, browsers):
    hana = browsers["hana"]
    first, second = world.sup("alice", 1), world.sup("bob", 1)
    page = hana.get("/hr").get_data(as_text=True)
    assert first.reference in page and second.reference in page
    versions = {f"version-{s.id}": _value(page, f"version-{s.id}") for s in (first, second)}
    done = hana.post("/hr/act", {"action": "review", "sup": [str(first.id), str(second.id)]}
                     | versions, form_from="/hr")
    assert done.status_code == 302
    assert [world.sup("alice", 1).status, world.sup("bob", 1).status] == ["reviewed"] * 2
    assert world.sup("alice", 1).reviewed_by.email == "hana@example.com"
    hana.post("/hr/act", {"action": "note", "sup": str(first.id), "text": "great week"},
              form_from="/hr")
    hana.post("/hr/act", {"action": "flag", "sup": str(second.id), "text": "check hours"},
              form_from="/hr")
    assert "great week" in json.dumps(world.sup("alice", 1).hr_notes)
    assert world.sup("bob", 1).flags[0]["reason"] == "check hours"
    flagged = json.loads(hana.get("/hr.json?status=all&flagged=1").get_data(as_text=True))
    assert {r["id"] for r in flagged} == {second.id, world.sup("alice", 0).id}
    assert "great week" in hana.get(f"/sups/{first.id}").get_data(as_text=True)


def _value(page: str, name: str) -> str:
    import re

    return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)


def test_management_retries_a_failed_outbox_row_and_a_developer_cannot(world, browsers):
    from mailsup.models import OutboundMessage

    row = OutboundMessage.select().order_by(OutboundMessage.id).first()
    row.status, row.last_error = "failed", "550 mailbox unavailable"
    row.save()
    assert "550 mailbox unavailable" in browsers["boss"].get("/ops").get_data(as_text=True)
    denied = browsers["alice"].post(f"/ops/outbox/{row.id}/retry", form_from="/")
    assert denied.status_code == 404
    assert OutboundMessage.get_by_id(row.id).status == "failed"
    done = browsers["boss"].post(f"/ops/outbox/{row.id}/retry", form_from="/ops")
    assert done.status_code == 302
    assert OutboundMessage.get_by_id(row.id).status == "pending"


def test_ops_shows_answers_held_back_and_metrics_count_them(world, browsers):
    from datetime import timedelta

    from tests.support.web import reply

    sup = world.sup("alice")
    for minute in range(6):  # the sixth "help" in an hour exceeds the answer budget of 5
        reply(world.settings, sup, "help", world.now + timedelta(minutes=minute), quote=False)
    page = browsers["boss"].get("/ops").get_data(as_text=True)
    assert "help to alice@example.com" in page
    assert "Last ticks" in page and "create_sups=3" in page
    metrics = browsers["anonymous"].get("/metrics").get_data(as_text=True)
    assert "mailsup_suppressed_answers 1.0" in metrics
    assert 'mailsup_outbound_messages{kind="help",status="pending"} 5.0' in metrics
    assert 'mailsup_inbound_messages{status="applied"}' in metrics
