"""Who is writing, about what — and may we believe it?

A reply is trusted only with BOTH an unguessable reference (the signed token
in a recipient address, or the random Message-ID of a mail we sent that the
reply threads to) AND a From address that is one of the right person's
addresses. The ``[SUP 42]`` in a subject is guessable, so on its own it only
earns a "please reply to the SUP email" answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses

from mailsup import tokens
from mailsup.config import Settings
from mailsup.directory import person_by_address
from mailsup.models import Client, Effect, Keys, OutboundMessage, Person

_SUBJECT_REF = re.compile(r"\[SUP (\d+)\]", re.IGNORECASE)
_MSGID = re.compile(r"<[^<>\s]+>")


@dataclass
class Reference:
    kind: str  # "sup" | "hr_digest" | "bounce" | "escalation" | "alias"
    ident: int
    via: str  # "token" | "thread"


@dataclass
class Identity:
    sender: str  # the From address, lower-case
    person: Person | None
    reference: Reference | None
    subject_ref: int | None = None
    bad_token: bool = False  # a sup+... address whose signature did not verify


def recipient_addresses(msg: EmailMessage, envelope_to: str | None) -> list[str]:
    values = [str(v) for h in ("To", "Cc", "Delivered-To", "X-Original-To")
              for v in msg.get_all(h, [])]
    found = [addr for _, addr in getaddresses(values) if addr]
    found += [a for a in (envelope_to or "").split(",") if a]
    return [a.strip().lower() for a in found]


def token_reference(settings: Settings, addresses: list[str]) -> Reference | None:
    for address in addresses:
        raw = tokens.token_from_address(settings.reply_address, address)
        if raw is None:
            continue
        token = tokens.verify(settings.secret, raw)
        if token is not None:
            return Reference(tokens.KINDS[token.kind], token.ident, "token")
    return None


def thread_reference(msg: EmailMessage) -> Reference | None:
    """A reply threading to a Message-ID we generated proves it saw our mail."""
    ids = _MSGID.findall(" ".join(str(msg.get(h, "")) for h in ("In-Reply-To", "References")))
    if not ids:
        return None
    sent = (OutboundMessage.select().where(OutboundMessage.message_id.in_(ids[-20:]))
            .order_by(OutboundMessage.id.desc()))
    for row in sent:
        if row.kind in ("sup_request", "nag", "receipt") and row.sup_id:
            return Reference("sup", row.sup_id, "thread")
        digest = Keys.hr_digest_mail_effect(row.key) if row.kind == "hr_digest" else None
        if digest is not None:
            return Reference("hr_digest", digest, "thread")
        if row.kind == "escalation":  # the mail's key is its escalation Effect's key
            effect = Effect.get_or_none(Effect.key == row.key)
            if effect is not None:
                return Reference("escalation", effect.id, "thread")
    return None


def from_address(msg: EmailMessage) -> str:
    """The one From address, or "" when the header is ambiguous.

    ``alice@example.com <bob@evil.example>`` parses with defects to Alice's
    address while the receiving MTA judged DMARC on evil.example: anything
    but exactly one clean address is treated as no sender at all.
    """
    try:
        header = msg["From"]
        addresses = header.addresses if header is not None else ()
        defects = header.defects if header is not None else ()
    except Exception:  # noqa: BLE001 - an unparsable From is no sender
        return ""
    if len(addresses) != 1 or defects:
        return ""
    return (addresses[0].addr_spec or "").strip().lower()


def identify(settings: Settings, msg: EmailMessage, envelope_to: str | None) -> Identity:
    sender = from_address(msg)
    person = person_by_address(sender) if sender else None
    addresses = recipient_addresses(msg, envelope_to)
    reference = token_reference(settings, addresses) or thread_reference(msg)
    match = _SUBJECT_REF.search(str(msg.get("Subject", "")))
    bad = reference is None and any(
        tokens.token_from_address(settings.reply_address, a) for a in addresses)
    return Identity(sender, person, reference, int(match.group(1)) if match else None, bad)


def may_act_as_hr(settings: Settings, identity: Identity, client: Client) -> bool:
    if identity.sender in settings.management:
        return True
    return identity.person is not None and client.hr_id == identity.person.id


def dmarc_ok(settings: Settings, msg: EmailMessage) -> tuple[bool, str]:
    """With ``require_dmarc``, trust only our own MTA's Authentication-Results."""
    if not settings.inbound.require_dmarc:
        return True, ""
    import authres

    for value in msg.get_all("Authentication-Results", []):
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(str(value))
        except Exception:  # noqa: BLE001 - an unparsable header proves nothing
            continue
        if settings.inbound.authserv_id and parsed.authserv_id != settings.inbound.authserv_id:
            continue
        for result in parsed.results:
            if result.method == "dmarc":
                return (result.result == "pass"), f"dmarc={result.result}"
    return False, "no dmarc=pass from our authserv-id"
