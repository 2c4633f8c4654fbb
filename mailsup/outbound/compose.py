"""Render a mail from one context, and build its MIME: the one header builder.

Templates are named by role (``<role>.txt.j2`` / ``<role>.html.j2``) and both
alternatives render the same variables. HTML templates autoescape, so a GitHub
title or a reply can never inject markup. What a mail says (role, subject,
variables) is decided in ``outbound.messages``, never here.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

# Bidi embeddings, overrides, isolates and marks (U+202E reverses the rest of a
# line, addresses included) and C0/C1 controls other than newline and tab: none
# of them is something a person means to show another person.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f"
                     "\u202a-\u202e\u2066-\u2069]")


def safe_text(value: str) -> str:
    """A person's text as it may appear in a mail or a page: the one sanitiser.

    Removing (not isolating) keeps plain-text mail clean in every client; the
    Unicode bidi algorithm still lays out Hebrew or Arabic words correctly.
    """
    return _UNSAFE.sub("", value)


def safe_value(value):
    """Jinja ``finalize`` for mails and pages: every ``{{ … }}`` passes through here."""
    if isinstance(value, Markup):
        return Markup(safe_text(str(value)))  # already escaped: removing keeps it so
    if isinstance(value, str):
        return safe_text(value)
    return value


_env = Environment(
    loader=PackageLoader("mailsup", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    finalize=safe_value,
)


# What every mail writes for an answer that was not given: one wording each, here.
MISSING = {"plan": "none yet", "scheduling": "not given", "blockers": "none"}
_env.globals["missing"] = MISSING


@dataclass(frozen=True)
class Message:
    """What one mail says: its template role, its subject and the template's variables."""

    role: str
    subject: str
    variables: dict


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def one_line(value: str, limit: int = 200) -> str:
    """Flatten to one header-safe line: EmailMessage refuses CR/LF in headers."""
    flat = re.sub(r"\s+", " ", safe_text(value or "")).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def render(message: Message) -> Rendered:
    text = _env.get_template(f"{message.role}.txt.j2").render(**message.variables)
    html = _env.get_template(f"{message.role}.html.j2").render(**message.variables)
    return Rendered(one_line(message.subject, 250), text, html)


def new_message_id(domain: str) -> str:
    # Random, not sequential: threading to it is proof of having received it.
    return f"<{uuid.uuid4().hex}@{domain}>"


def domain_of(address: str) -> str:
    return getaddresses([address])[0][1].rpartition("@")[2] or "localhost"


def build(
    rendered: Rendered,
    *,
    sender: str,
    to: list[str],
    message_id: str,
    date,
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    auto_submitted: str = "auto-generated",
    extra_headers: dict[str, str] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(one_line(address, 998) for address in to)
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    if reply_to:
        msg["Reply-To"] = formataddr(("mailsup", reply_to))
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    # RFC 3834: tell other robots not to answer us, and Exchange to stay quiet.
    msg["Auto-Submitted"] = auto_submitted
    msg["X-Auto-Response-Suppress"] = "All"
    for name, value in (extra_headers or {}).items():
        msg[name] = one_line(value)
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg
