"""Tell people's mail from machines' mail, so that robots are never answered.

Bounces (DSNs) mark the outbound message that caused them; automatic mail
(RFC 3834 and the common out-of-office conventions) is recorded and ignored;
an out-of-office reply to a SUP marks its developer away for that day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr

_OOO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort)|auto:|out of (the )?office|ooo\b|"
    r"away from (the )?office|on vacation|abwesenheit|abwesenheitsnotiz|"
    r"r[ée]ponse automatique|absence|fuera de la oficina|respuesta autom[aá]tica|"
    r"afwezig|automatisch antwoord|risposta automatica|fuori sede|"
    r"resposta autom[aá]tica|frånvaro|autosvar)",
    re.IGNORECASE,
)
_ROBOT_FROM = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)\b",
                         re.IGNORECASE)
_OOO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder")


@dataclass(frozen=True)
class Bounce:
    permanent: bool
    status: str
    recipient: str
    original_message_id: str | None


@dataclass(frozen=True)
class Verdict:
    kind: str  # "person" | "bounce" | "automatic" | "out_of_office"
    reason: str = ""
    bounce: Bounce | None = None


def _dsn_fields(msg: EmailMessage) -> Bounce | None:
    status, action, recipient, original = "", "", "", None
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            for block in part.get_payload() or []:
                status = status or str(block.get("Status", "")).strip()
                action = action or str(block.get("Action", "")).strip().lower()
                recipient = recipient or str(block.get("Final-Recipient", "")).split(";")[-1]
        elif ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            original = original or _original_message_id(part)
    if not status and not action:
        return None
    permanent = status.startswith("5") or action == "failed" and not status.startswith("4")
    return Bounce(permanent, status or action, recipient.strip(), original)


def _original_message_id(part) -> str | None:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if inner is not None and inner.get("Message-ID"):
        return str(inner["Message-ID"]).strip()
    match = re.search(r"^Message-ID:\s*(<[^>]+>)", str(part.get_payload()), re.I | re.M)
    return match.group(1) if match else None


def classify(msg: EmailMessage, envelope_from: str | None) -> Verdict:
    """First match wins: a bounce is automatic too, but it carries more meaning."""
    sender = parseaddr(str(msg.get("From", "")))[1]
    null_sender = envelope_from is not None and envelope_from.strip() in ("", "<>")
    is_report = msg.get_content_type() == "multipart/report"
    if is_report or null_sender or _ROBOT_FROM.match(sender):
        # RFC 3834 auto-responders also send with a null sender: only a delivery
        # report, or a mail from the mail system itself, is a bounce.
        dsn = _dsn_fields(msg) if is_report else None
        if dsn is not None or sender.lower().startswith(("mailer-daemon", "postmaster")):
            return Verdict("bounce", f"delivery report {dsn.status if dsn else ''}".strip(), dsn)
    subject = str(msg.get("Subject", ""))
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    ooo_header = next((h for h in _OOO_HEADERS if msg.get(h)), None)
    if _OOO_SUBJECT.match(subject) or ooo_header or auto == "auto-replied":
        return Verdict("out_of_office", f"out-of-office reply ({ooo_header or subject[:60]})")
    if auto and auto != "no":
        return Verdict("automatic", f"Auto-Submitted: {auto}")
    if msg.get("X-Auto-Response-Suppress") or msg.get("X-MS-Exchange-Inbox-Rules-Loop"):
        return Verdict("automatic", "sent by an automatic rule (X-Auto-Response-Suppress)")
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return Verdict("automatic", f"Precedence: {precedence}")
    if msg.get("List-Id") or msg.get("List-Unsubscribe") and not msg.get("In-Reply-To"):
        return Verdict("automatic", "mailing-list message")
    if msg.get("X-Loop") or msg.get("X-Mailsup-Loop"):
        return Verdict("automatic", "X-Loop header")
    if _ROBOT_FROM.match(sender):
        return Verdict("automatic", f"sent by {sender}")
    return Verdict("person")
