"""Build replies to mail mailsup sent, the way a mail client would (tests and the demo)."""

from __future__ import annotations

import uuid
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from mailsup.testing import at


def _message(original) -> EmailMessage:
    """A sink's ``Received`` or a parsed ``EmailMessage``: either is the mail answered."""
    return original.message if hasattr(original, "message") else original


def reply_to_address(original) -> str:
    return _message(original)["Reply-To"].addresses[0].addr_spec


def make_reply(original, body: str, *, sender: str = "Alice Smith <alice@example.com>",
               to: str | None = None, thread: bool = True, subject: str | None = None,
               headers: dict[str, str] | None = None, quote: bool = True,
               html: str | None = None, date: datetime | None = None,
               message_id: str | None = None) -> bytes:
    original = _message(original)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to if to is not None else reply_to_address(original)
    msg["Subject"] = subject if subject is not None else f"Re: {original['Subject']}"
    msg["Date"] = format_datetime(date or at("2026-11-25T07:00"))
    msg["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@client.example>"
    if thread:
        msg["In-Reply-To"] = original["Message-ID"]
        msg["References"] = original["Message-ID"]
    for name, value in (headers or {}).items():
        msg[name] = value
    text = body
    if quote:
        sent = original.get_body(("plain",)).get_content()
        quoted = "\n".join("> " + line if line else ">" for line in sent.splitlines())
        text = f"{body}\n\nOn Wed, 25 Nov 2026 at 06:00, mailsup <sup@mailsup.test> wrote:\n" \
               f"{quoted}\n"
    if html is not None:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(text)
    return msg.as_bytes()
