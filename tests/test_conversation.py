"""The conversation around a SUP (issue 11): blockers, loops, unknown addresses, HR, old SUPs.

Every behaviour goes over real SMTP: replies are stored and run through the
pipeline, answers go through the outbox to the aiosmtpd sink, and the tests
read what arrived there.
"""

from __future__ import annotations

import pytest

from mailsup import tokens
from mailsup.inbound import runner
from mailsup.inbound.store import store_raw
from mailsup.jobs.tick import tick
from mailsup.models import Effect, InboundMessage, OutboundMessage, Sup
from mailsup.outbound import sender
from mailsup.testing import at
from mailsup.testing.replies import make_reply
from tests.support.directory_samples import TWO_ZONES
from tests.support.helpers import load_directory

ALICE = "Alice Smith <alice@example.com>"
DAN = "Dan Delivery <dan@example.com>"
WED = at("2026-11-25T07:00")


@pytest.fixture
def world(settings, tmp_path, smtp_sink):
    load_directory(tmp_path, TWO_ZONES)
    tick(settings, at("2026-11-25T05:00"))  # Alice's Wednesday SUP (06:00 in Berlin)
    return settings


def receive(settings, raw, now=WED):
    stored = store_raw(raw, "cli", now)
    runner.process_pending(settings, now)
    sender.flush(settings, now)
    return InboundMessage.get_by_id(stored.row.id)


def requests(sink, who="alice@example.com"):
    return [m for m in sink.to(who) if "stand-up for" in str(m["Subject"])
            and not str(m["Subject"]).startswith(("Re:", "Reminder"))]


def escalations(sink):
    return [m for m in sink.messages if "Blocker:" in str(m["Subject"])
            and not str(m["Subject"]).startswith("Re:")]


def last_to(sink, who, contains=""):
    return [m for m in sink.to(who) if contains in m.text][-1]


def team_digest(sink, who="dan@example.com"):
    return [m for m in sink.to(who) if "plans for" in str(m["Subject"])][-1]


def reply(settings, sink, body, now=WED, day=-1):
    return receive(settings, make_reply(requests(sink)[day], body, sender=ALICE), now)


# --- 1. escalation as a conversation ----------------------------------------

def test_escalation_greets_and_its_reply_to_is_the_signed_escalation_address(world, smtp_sink):
    reply(world, smtp_sink, "plan: ship the export\nblockers: staging is down")
    (mail,) = escalations(smtp_sink)  # the control: the genuine first escalation is sent
    effect = Effect.get(Effect.kind == "escalation")
    assert mail["Reply-To"].addresses[0].addr_spec == tokens.address_for(world, "e", effect.id)
    assert mail.text.startswith("Hi Dan,") and "staging is down" in mail.text
    assert "Reply to this email to answer Alice" in mail.text
    receipt = last_to(smtp_sink, "alice@example.com", "Thanks:")
    assert "Your blockers have been sent to the delivery manager (Dan Delivery)." in receipt.text


def test_the_managers_reply_reaches_the_developer_in_the_sups_thread(world, smtp_sink):
    reply(world, smtp_sink, "plan: ship the export\nblockers: staging is down")
    (escalation,) = escalations(smtp_sink)
    row = receive(world, make_reply(escalation, "Hi Alice,\n\nI asked ops, back by noon.\n\n"
                                    "Cheers,\nDan", sender=DAN), at("2026-11-25T08:00"))
    assert row.status == "applied" and row.kind == "escalation_reply"
    relay = last_to(smtp_sink, "alice@example.com", "answered the blocker")
    request = requests(smtp_sink)[-1]
    assert relay["In-Reply-To"] == request["Message-ID"]
    assert str(relay["Subject"]) == f"Re: {request['Subject']}"
    assert relay["Reply-To"].addresses[0].addr_spec == "dan@example.com"
    assert "I asked ops, back by noon." in relay.text and "Cheers" not in relay.text
    thread = Effect.get(Effect.kind == "escalation")
    assert thread.data["acks"][0]["text"] == "I asked ops, back by noon."
    assert thread.data["resolved"] is None
    assert "passed on to Alice Smith" in last_to(smtp_sink, "dan@example.com", "passed on").text
    tick(world, at("2026-11-25T10:30"))  # Dan's team digest (10:30 in London)
    assert "blocker: acknowledged by Dan Delivery" in team_digest(smtp_sink).text


def test_a_reply_threaded_to_the_escalation_works_without_the_token(world, smtp_sink):
    reply(world, smtp_sink, "plan: ship the export\nblockers: staging is down")
    (escalation,) = escalations(smtp_sink)
    row = receive(world, make_reply(escalation, "Fixed: staging is back.", sender=DAN,
                                    to="sup@mailsup.test"), at("2026-11-25T08:00"))
    assert row.status == "applied" and "resolved" in row.reasons[0]


@pytest.mark.parametrize("word", ["Resolved.", "fixed", "Done - access granted"])
def test_resolved_marks_the_blocker_resolved_for_receipt_and_digest(world, smtp_sink, word):
    reply(world, smtp_sink, "plan: ship the export\nblockers: staging is down")
    (escalation,) = escalations(smtp_sink)
    receive(world, make_reply(escalation, word, sender=DAN), at("2026-11-25T08:00"))
    thread = Effect.get(Effect.kind == "escalation")
    assert thread.data["resolved"]["by"] == "dan@example.com"
    assert "marked the blocker as resolved" in last_to(
        smtp_sink, "alice@example.com", "answered the blocker").text
    reply(world, smtp_sink, "plan: ship the export, then docs", at("2026-11-25T08:30"))
    receipt = last_to(smtp_sink, "alice@example.com", "merged into")
    assert "Dan Delivery marked it resolved" in receipt.text
    assert len(escalations(smtp_sink)) == 1
    tick(world, at("2026-11-25T10:30"))
    assert "blocker: resolved by Dan Delivery" in team_digest(smtp_sink).text


def test_not_resolved_is_an_acknowledgement(world, smtp_sink):
    reply(world, smtp_sink, "plan: ship the export\nblockers: staging is down")
    (escalation,) = escalations(smtp_sink)
    receive(world, make_reply(escalation, "Not fixed yet, still waiting on ops", sender=DAN),
            at("2026-11-25T08:00"))
    thread = Effect.get(Effect.kind == "escalation")
    assert thread.data["resolved"] is None and len(thread.data["acks"]) == 1


@pytest.mark.parametrize("who", ["Bob Jones <bob@example.com>", "Mallory <mallory@evil.example>"])
def test_a_reply_to_an_escalation_from_someone_else_is_refused_and_kept(world, smtp_sink, who):
    reply(world, smtp_sink, "plan: ship the export\nblockers: staging is down")
    (escalation,) = escalations(smtp_sink)
    before = len(smtp_sink.to("alice@example.com"))
    raw = make_reply(escalation, "resolved, trust me", sender=who)
    row = receive(world, raw, at("2026-11-25T08:00"))
    assert row.status == "refused" and bytes(row.raw) == raw  # nothing lost
    assert "not a delivery manager" in row.reasons[0]
    thread = Effect.get(Effect.kind == "escalation")
    assert thread.data["acks"] == [] and thread.data["resolved"] is None  # nothing applied
    assert len(smtp_sink.to("alice@example.com")) == before  # nothing relayed
    address = who.split("<")[1].rstrip(">")
    (answer,) = smtp_sink.to(address)  # a clear answer
    assert "was not passed on" in answer.text and "not one of the delivery managers" \
        in answer.text


def _escalation_count() -> int:
    return OutboundMessage.select().where(OutboundMessage.kind == "escalation").count()


def test_one_sup_replaced_many_times_escalates_each_blocker_text_once(world, smtp_sink):
    """The fuzz figure: the same blocker through 40 replacements, in varied spellings and
    with other texts and "none" between, is one escalation; each other text is one more."""
    spellings = ["staging is down", "Staging is down.", "  staging  is down ", "STAGING IS DOWN!",
                 "- staging is down"]
    others = ["none", "waiting for design", "staging is down"]
    for i in range(40):
        blockers = spellings[i % len(spellings)] if i % 3 else others[(i // 3) % len(others)]
        reply(world, smtp_sink, f"plan: step {i}\nblockers: {blockers}", at("2026-11-25T07:00"))
    sent = _escalation_count()
    print(f"\nFIGURE one SUP replaced 40 times (2 distinct blocker texts): {sent} escalations")
    assert sent == 2
    assert {"staging is down" in m.text.lower() for m in escalations(smtp_sink)} == {True, False}


def test_a_blocker_repeated_on_the_next_days_is_day_n_and_escalated_once(world, smtp_sink):
    reply(world, smtp_sink, "plan: ship the export\nblockers: staging is down")
    tick(world, at("2026-11-26T05:00"))  # Thursday's SUP
    reply(world, smtp_sink, "plan: still the export\nblockers: Staging is down",
          at("2026-11-26T07:00"))
    assert _escalation_count() == 1
    receipt = last_to(smtp_sink, "alice@example.com", "Thanks:")
    assert "was sent to Dan Delivery on Wednesday 25 November 2026 (day 2)" in receipt.text
    assert "not sent again" in receipt.text and "No answer yet" in receipt.text
    tick(world, at("2026-11-26T10:30"))
    digest = team_digest(smtp_sink).text
    assert "BLOCKED (day 2): Staging is down" in digest
    assert "sent to Dan Delivery, no answer yet" in digest
    # Friday, still blocked: day 3, still one escalation.
    tick(world, at("2026-11-27T05:00"))
    reply(world, smtp_sink, "plan: docs\nblockers: staging is down", at("2026-11-27T07:00"))
    assert "(day 3)" in last_to(smtp_sink, "alice@example.com", "Thanks:").text
    assert _escalation_count() == 1


def test_after_resolved_the_same_text_on_a_later_day_is_a_new_blocker(world, smtp_sink):
    reply(world, smtp_sink, "plan: ship the export\nblockers: staging is down")
    (escalation,) = escalations(smtp_sink)
    receive(world, make_reply(escalation, "fixed", sender=DAN), at("2026-11-25T08:00"))
    reply(world, smtp_sink, "plan: ship it\nblockers: staging is down", at("2026-11-25T08:30"))
    assert _escalation_count() == 1  # the same SUP: resolved stays resolved
    tick(world, at("2026-11-26T05:00"))
    reply(world, smtp_sink, "plan: again\nblockers: staging is down", at("2026-11-26T07:00"))
    assert _escalation_count() == 2  # it came back after it was resolved
    assert Sup.select().count() >= 2


# --- 2. loop protection -----------------------------------------------------

ROBOT_TEXT = "Thank you for your message. It has been received and will be answered soon."


def robot_loop(settings, sink, address, sender_header, first, hours=12, every=15):
    """A responder without any automatic-mail header, answering the latest mail it got
    from mailsup every ``every`` minutes; returns how many answers mailsup sent it."""
    start = at("2026-11-25T07:00")
    before = len(sink.to(address))
    latest = first
    from datetime import timedelta
    for step in range(hours * 60 // every):
        now = start + timedelta(minutes=every * step)
        receive(settings, make_reply(latest, ROBOT_TEXT, sender=sender_header, quote=False,
                                     date=now), now)
        mine = sink.to(address)
        latest = mine[-1] if len(mine) > before else latest
    return len(sink.to(address)) - before


def test_a_slow_auto_responder_at_a_developers_address_gets_one_receipt(world, smtp_sink):
    """The figure: 48 robot mails in 12 hours. Before, each got a receipt (4 an hour
    stayed under the budget of 5); now the echo of our receipt is not answered."""
    sent = robot_loop(world, smtp_sink, "alice@example.com", ALICE, requests(smtp_sink)[-1])
    print(f"\nFIGURE 15-minute auto-responder over 12 hours: {sent} answers sent")
    assert sent == 1
    held = Effect.select().where(Effect.kind == "suppressed")
    assert held.count() == 47 and "a loop" in held.first().data["why"]


def test_receipts_for_genuine_replies_are_never_held_back(world, smtp_sink):
    """Ten different replies in an hour: ten receipts (the budget used to stop at five)."""
    from datetime import timedelta
    for i in range(10):
        reply(world, smtp_sink, f"plan: version {i}", WED + timedelta(minutes=5 * i))
    receipts = [m for m in smtp_sink.to("alice@example.com") if "merged into" in m.text
                or "Thanks:" in m.text]
    assert len(receipts) == 10
    assert Effect.select().where(Effect.kind == "suppressed").count() == 0


def test_an_unknown_sender_is_still_throttled(world, smtp_sink):
    """The control: a stranger writing to an escalation's address every 15 minutes for
    12 hours gets at most the daily cap of answers, and none to a mail answering ours."""
    reply(world, smtp_sink, "plan: ship the export\nblockers: staging is down")
    (escalation,) = escalations(smtp_sink)
    from datetime import timedelta
    for step in range(48):
        now = WED + timedelta(minutes=15 * step)
        receive(world, make_reply(escalation, f"resolved {step}",
                                  sender="Robot <robot@evil.example>", quote=False, date=now),
                now)
    sent = len(smtp_sink.to("robot@evil.example"))
    print(f"\nFIGURE unknown sender, 48 mails in 12 hours: {sent} answers sent")
    assert sent == 3  # one an hour, three a day
    first = smtp_sink.to("robot@evil.example")[0]
    row = receive(world, make_reply(first, "resolved again", sender="Robot <robot@evil.example>",
                                    quote=False), at("2026-11-26T07:00"))  # a new day
    held = [e for e in Effect.select().where(Effect.kind == "suppressed")
            if e.data["inbound"] == row.id]
    assert "answers our escalation_answer" in held[0].data["why"]
    assert len(smtp_sink.to("robot@evil.example")) == 3


def test_a_held_back_answer_is_shown_and_counted(world, smtp_sink, tmp_path, capsys):
    from mailsup.cli import main

    robot_loop(world, smtp_sink, "alice@example.com", ALICE, requests(smtp_sink)[-1], hours=1)
    row = InboundMessage.select().order_by(InboundMessage.id.desc()).first()
    assert main(["--config", str(world.path), "inbound", "show", str(row.id)]) == 0
    shown = capsys.readouterr().out
    assert "held_back: receipt to alice@example.com: the mail repeats" in shown
    assert main(["--config", str(world.path), "inbound", "list"]) == 0
    assert "3 answers held back by loop protection" in capsys.readouterr().out
    from mailsup.inbound.autoreply import suppressed_count
    assert suppressed_count() == 3 and suppressed_count(at("2027-01-01T00:00")) == 0


# --- 3. a reply from an unregistered address ----------------------------------

PHONE = "Alice <alice.phone@mobile.example>"


def notices(sink, who="alice@example.com"):
    return [m for m in sink.to(who) if "Was this you?" in str(m["Subject"])]


def from_phone(world, sink, body="plan: answered on the train", sender_header=PHONE,
               now=WED):
    return receive(world, make_reply(requests(sink)[-1], body, sender=sender_header), now)


def test_a_reply_from_an_unknown_address_is_kept_and_the_developer_told(world, smtp_sink):
    row = from_phone(world, smtp_sink)
    assert row.status == "refused" and row.kind == "unregistered"
    assert "alice@example.com was asked to confirm it" in row.reasons[0]
    assert Sup.get_by_id(row.sup_id).status == "open"  # not applied
    (notice,) = notices(smtp_sink)
    assert "alice.phone@mobile.example" in notice.text and 'Reply "yes"' in notice.text
    assert notice["Reply-To"].addresses[0].addr_spec == tokens.address_for(world, "a", row.id)
    assert smtp_sink.to("alice.phone@mobile.example") == []  # nothing to the unknown address


def test_yes_from_the_registered_address_adds_the_alias_and_applies_the_reply(
        world, smtp_sink, tmp_path):
    from mailsup.models import Alias
    kept = from_phone(world, smtp_sink)
    (notice,) = notices(smtp_sink)
    row = receive(world, make_reply(notice, "Yes, that was me!\n\nAlice", sender=ALICE),
                  at("2026-11-25T07:30"))
    assert row.status == "applied" and row.kind == "alias_confirmation"
    assert Alias.get(Alias.email == "alice.phone@mobile.example").person.email == \
        "alice@example.com"
    sup = Sup.get_by_id(kept.sup_id)
    assert sup.status == "submitted" and sup.plan == "answered on the train"
    assert InboundMessage.get_by_id(kept.id).status == "applied"
    (receipt,) = smtp_sink.to("alice.phone@mobile.example")
    assert "Thanks:" in receipt.text
    answer = last_to(smtp_sink, "alice@example.com", "is now one of your addresses")
    assert f"Your kept reply to {sup.reference} is being applied" in answer.text
    # A reload of the directory file (which does not list it) keeps the alias.
    load_directory(tmp_path, TWO_ZONES)
    assert Alias.get_or_none(Alias.email == "alice.phone@mobile.example") is not None


@pytest.mark.parametrize("who", ["Mallory <mallory@evil.example>", "Bob Jones <bob@example.com>",
                                 PHONE])
def test_a_yes_from_any_other_address_adds_no_alias(world, smtp_sink, who):
    """The control: the notice's token alone does not confirm; the registered address must."""
    from mailsup.models import Alias
    kept = from_phone(world, smtp_sink)
    (notice,) = notices(smtp_sink)
    row = receive(world, make_reply(notice, "yes", sender=who), at("2026-11-25T07:30"))
    assert row.status == "refused" and "no alias added" in row.reasons[0]
    assert Alias.get_or_none(Alias.email == "alice.phone@mobile.example") is None
    assert InboundMessage.get_by_id(kept.id).status == "refused"  # kept, not applied
    assert Sup.get_by_id(kept.sup_id).status == "open"


def test_a_yes_after_the_kept_reply_was_deleted_is_answered_and_applies_nothing(
        world, smtp_sink):
    from mailsup.models import Alias
    kept = from_phone(world, smtp_sink)
    (notice,) = notices(smtp_sink)
    InboundMessage.delete().where(InboundMessage.id == kept.id).execute()  # the operator
    row = receive(world, make_reply(notice, "yes", sender=ALICE), at("2026-11-25T07:30"))
    assert row.status == "refused" and "no longer exists" in row.reasons[0]
    assert Alias.get_or_none(Alias.email == "alice.phone@mobile.example") is None
    assert "no longer stored" in last_to(smtp_sink, "alice@example.com", "Nothing changed").text
    assert Sup.get(Sup.developer_id == 1).status == "open"


def test_a_yes_for_an_address_that_belongs_to_someone_else_changes_nothing(world, smtp_sink):
    from mailsup.models import Alias, Person
    kept = from_phone(world, smtp_sink)
    (notice,) = notices(smtp_sink)
    bob = Person.get(Person.email == "bob@example.com")
    Alias.create(person=bob, email="alice.phone@mobile.example")  # given to Bob meanwhile
    row = receive(world, make_reply(notice, "yes", sender=ALICE), at("2026-11-25T07:30"))
    assert row.status == "refused" and "is an address of bob@example.com" in row.reasons[0]
    assert Alias.get(Alias.email == "alice.phone@mobile.example").person_id == bob.id
    assert "belongs to someone else" in last_to(smtp_sink, "alice@example.com",
                                                "Nothing changed").text
    assert InboundMessage.get_by_id(kept.id).status == "refused"  # nothing lost


def test_no_declines_and_the_reply_stays_kept(world, smtp_sink):
    kept = from_phone(world, smtp_sink)
    (notice,) = notices(smtp_sink)
    row = receive(world, make_reply(notice, "No, that was not me", sender=ALICE),
                  at("2026-11-25T07:30"))
    assert row.status == "applied" and "not confirmed" in row.reasons[0]
    assert InboundMessage.get_by_id(kept.id).status == "refused"


def test_notices_are_rate_limited(world, smtp_sink):
    from datetime import timedelta
    for i in range(4):  # the same phone four times: one notice a day for that address
        from_phone(world, smtp_sink, f"plan: try {i}", now=WED + timedelta(minutes=i))
    assert len(notices(smtp_sink)) == 1
    for i in range(4):  # four more unknown addresses: three notices a day in all
        from_phone(world, smtp_sink, f"plan: other {i}",
                   sender_header=f"A <a{i}@elsewhere.example>", now=WED + timedelta(minutes=9))
    assert len(notices(smtp_sink)) == 3
    held = Effect.select().where(Effect.kind == "suppressed")
    assert held.count() == 5 and all(e.data["answer"] == "alias_notice" for e in held)
    # All kept replies from the phone are applied by one "yes".
    (first,) = notices(smtp_sink)[:1]
    receive(world, make_reply(first, "yes", sender=ALICE), at("2026-11-25T08:00"))
    phone_rows = [r for r in InboundMessage.select().where(InboundMessage.kind == "sup_reply")]
    assert len(phone_rows) == 4 and Sup.get(Sup.developer_id == 1).plan == "try 3"


# --- 4. HR commands read leniently ------------------------------------------

HANA = "Hana HR <hana@example.com>"


def hr_digest_of(world, smtp_sink):
    reply(world, smtp_sink, "plan: ship the export")
    tick(world, at("2026-11-25T10:00"))  # 11:00 in Berlin: Hana's digest
    return [m for m in smtp_sink.to("hana@example.com") if "to review" in str(m["Subject"])][-1]


@pytest.mark.parametrize("body", [
    "Reviewed, thanks!\n\nHana",
    "reviewed.",
    "Hi,\n\nAll reviewed - thank you!\n\nBest,\nHana\nHR Lead, Acme Corp\n+49 30 1234567",
    "REVIEWED 1, thanks Hana\nHana HR",
    "Reviewed\n\n-- \nHana HR | People team",
])
def test_reviewed_with_manners_and_a_signature_reviews(world, smtp_sink, body):
    digest = hr_digest_of(world, smtp_sink)
    row = receive(world, make_reply(digest, body, sender=HANA), at("2026-11-25T10:30"))
    assert row.status == "applied", row.reasons
    assert Sup.get(Sup.developer_id == 1).status == "reviewed"
    answer = last_to(smtp_sink, "hana@example.com", "Your commands")
    assert "reviewed" in answer.text and "Not understood" not in answer.text


def test_a_genuinely_unknown_command_still_gets_the_help_answer(world, smtp_sink):
    """The control: leniency does not swallow what HR really typed."""
    digest = hr_digest_of(world, smtp_sink)
    row = receive(world, make_reply(digest, "approve everything\n\nThanks,\nHana", sender=HANA),
                  at("2026-11-25T10:30"))
    assert row.status == "refused" and row.reasons == ["unknown command: approve everything"]
    assert Sup.get(Sup.developer_id == 1).status == "submitted"
    answer = last_to(smtp_sink, "hana@example.com", "Not understood")
    # The command list (issue 11b's wording: example numbers where the digest has none).
    assert "| approve everything" in answer.text and "reviewed ID ID" in answer.text


# --- 5. a reply to an older SUP while today's is open -----------------------

def test_a_reply_to_yesterdays_sup_applies_there_and_says_todays_is_open(world, smtp_sink):
    wednesday = requests(smtp_sink)[-1]
    tick(world, at("2026-11-26T05:00"))  # Thursday's SUP goes out
    thursday = requests(smtp_sink)[-1]
    row = receive(world, make_reply(wednesday, "plan: late answer for Wednesday",
                                    sender=ALICE), at("2026-11-26T07:00"))
    assert row.status == "applied"
    wed, thu = (Sup.get((Sup.developer_id == 1) & (Sup.day == d))
                for d in ("2026-11-25", "2026-11-26"))
    assert wed.plan == "late answer for Wednesday" and thu.status == "open"
    receipt = last_to(smtp_sink, "alice@example.com", "older SUP")
    text = " ".join(receipt.text.split())
    assert f"Today's {thu.reference} (Thursday 26 November 2026) is still open" in text
    assert f'reply to "{thursday["Subject"]}" to answer it' in text
    assert "older SUP" in receipt.html
    # The control: once Thursday is answered, a reply to Wednesday says nothing of it.
    receive(world, make_reply(thursday, "plan: Thursday", sender=ALICE), at("2026-11-26T07:10"))
    receive(world, make_reply(wednesday, "plan: Wednesday again", sender=ALICE),
            at("2026-11-26T07:20"))
    assert "older SUP" not in last_to(smtp_sink, "alice@example.com", "merged into").text
