"""Who is writing, about what — and may we believe it?

A reply is trusted only with BOTH an unguessable reference (the signed token
in a recipient address, or the random Message-ID of a mail we sent that the
reply threads to) AND a From address that is one of the right person's
addresses. The ``[SUP 42]`` in a subject is guessable, so on its own it only
earns a "please reply to the SUP email" answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import getaddresses

from mailsup import tokens
from mailsup.config import Settings
from mailsup.directory import person_by_address
from mailsup.models import Client, Effect, Keys, OutboundMessage, Person, Sup

_SUBJECT_REF = re.compile(r"\[SUP (\d+)\]", re.IGNORECASE)
_MSGID = re.compile(r"<[^<>\s]+>")


@dataclass
class Reference:
    kind: str  # "sup" | "hr_digest" | "bounce" | "escalation" | "alias"
    ident: int
    via: str  # "token" | "thread"
    day: date | None = None  # the day a token carries (None: older token, or a thread)


_UNREAD = object()


@dataclass
class Identity:
    sender: str  # the From address, lower-case
    reference: Reference | None
    subject_ref: int | None = None
    bad_token: bool = False  # a sup+... address whose signature did not verify
    _person: object = field(default=_UNREAD, repr=False)

    @property
    def person(self) -> Person | None:
        """The sender's person (by address or alias), read when first asked for."""
        if self._person is _UNREAD:
            self._person = person_by_address(self.sender) if self.sender else None
        return self._person

    def known_as(self, person: Person) -> None:
        """``person`` was read anyway (a SUP's developer): when the From is exactly their
        address it is who ``person`` would read (addresses are unique), so it is not read
        again."""
        if self._person is _UNREAD and self.sender and person.email == self.sender:
            self._person = person


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
            return Reference(tokens.KINDS[token.kind], token.ident, "token", token.day)
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


def from_problem(msg: EmailMessage, unreadable: list[str]) -> str:
    """Why the From names no one author we could believe, or "".

    Two From headers (alice first, mallory second) must not be read as the
    first; RFC 5322 allows several addresses in one From only with a Sender,
    and even then a reply has to come from one person.
    """
    if any(name.lower() == "from" for name in unreadable):
        return "the From header could not be read; a reply must come from one plain address"
    headers = msg.get_all("From", [])
    if not headers:
        return "the message has no From header"
    if len(headers) > 1:
        return f"the message has {len(headers)} From headers; a reply must have exactly one"
    try:
        header = headers[0]
        addresses, defects = header.addresses, header.defects
    except Exception:  # noqa: BLE001 - an unparsable From is no sender
        return "the From header could not be read; a reply must come from one plain address"
    if len(addresses) > 1:
        sender = "" if msg.get("Sender") else " and there is no Sender"
        return (f"the From header names {len(addresses)} addresses{sender}; "
                "a reply must come from one")
    if len(addresses) != 1 or defects or not addresses[0].addr_spec.strip("<>"):
        return "the From header is malformed, so its address is not believed"
    return ""


def identify(settings: Settings, msg: EmailMessage, envelope_to: str | None) -> Identity:
    sender = from_address(msg)  # its person is read when a step asks (Identity.person)
    addresses = recipient_addresses(msg, envelope_to)
    reference = token_reference(settings, addresses) or thread_reference(msg)
    match = _SUBJECT_REF.search(str(msg.get("Subject", "")))
    bad = reference is None and any(
        tokens.token_from_address(settings.reply_address, a) for a in addresses)
    return Identity(sender, reference, int(match.group(1)) if match else None, bad)


def closed_since(settings: Settings, reference: Reference | None, now: datetime) -> date | None:
    """The day of a reference older than ``[mailsup] token_days``, else None.

    Tokens from before days were signed (and replies that only thread to our
    mail) take the day of what they name, so they keep working for the window.
    """
    if reference is None:
        return None
    day = reference.day
    if day is None and reference.kind == "sup":
        sup = Sup.get_or_none(Sup.id == reference.ident)
        day = sup.day if sup is not None else None
    elif day is None and reference.kind == "hr_digest":
        effect = Effect.get_or_none(Effect.id == reference.ident)
        day = effect.created_at.date() if effect is not None else None
    if day is None or now.date() <= day + timedelta(days=settings.token_days):
        return None
    return day


def may_act_as_hr(settings: Settings, identity: Identity, client: Client) -> bool:
    if identity.sender in settings.management:
        return True
    return identity.person is not None and client.hr_id == identity.person.id


def _ours(settings: Settings, msg: EmailMessage) -> list:
    """Our MTA's Authentication-Results, top first (unparsable ones prove nothing)."""
    import authres

    found = []
    for value in msg.get_all("Authentication-Results", []):
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(str(value))
        except Exception:  # noqa: BLE001 - an unparsable header proves nothing
            continue
        if (parsed.authserv_id or "").lower() == settings.inbound.authserv_id.lower():
            found.append(parsed)
    return found


def _header_from(result) -> str:
    return next((str(p.value).strip().lower() for p in result.properties
                 if p.type == "header" and p.name == "from"), "")


def dmarc_ok(settings: Settings, msg: EmailMessage, sender: str = "") -> tuple[bool, str]:
    """With ``require_dmarc``, believe only our own MTA's verdict on this From.

    RFC 8601 §5: a receiving MTA prepends its header, so only the topmost one
    with our authserv-id is ours; anything below may be the sender's own.
    Some MTAs and milters append instead, so a ``dmarc=fail`` under our id
    counts wherever it stands. A pass covers only the domain it names in
    ``header.from``, which must be the From's.
    """
    if not settings.inbound.require_dmarc:
        return True, ""
    ours = _ours(settings, msg)
    for parsed in ours:
        for result in parsed.results:
            if result.method == "dmarc" and result.result != "pass":
                return False, f"dmarc={result.result} from {settings.inbound.authserv_id}"
    if not ours:
        return False, f"no Authentication-Results from {settings.inbound.authserv_id}"
    verdict = next((r for r in ours[0].results if r.method == "dmarc"), None)
    if verdict is None:
        return False, (f"the topmost Authentication-Results from "
                       f"{settings.inbound.authserv_id} has no dmarc result")
    domain = sender.rpartition("@")[2]
    checked = _header_from(verdict)
    if not domain or checked != domain:
        return False, (f"dmarc=pass is for header.from={checked or '(none)'}, "
                       f"not the From domain {domain or '(none)'}")
    return True, "dmarc=pass"
