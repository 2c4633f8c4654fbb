"""Render a mail from one context, and build its MIME: the one header builder.

Templates are named by role (``<role>.txt.j2`` / ``<role>.html.j2``) and both
alternatives render the same variables. HTML templates autoescape, so a GitHub
title or a reply can never inject markup. What a mail says (role, subject,
variables) is decided in ``outbound.messages``, never here.
"""

from __future__ import annotations

import binascii
import random
import re
import sys
import uuid
from dataclasses import dataclass
from email import policy, quoprimime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses
from functools import lru_cache

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
    if value.__class__ is str and value.isascii() and value.isprintable():
        return value  # nothing _UNSAFE matches (the common case, sixty times a mail)
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
    auto_reload=False,  # templates ship with the package; a stat per render is waste
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


# --- the same bytes, built without the header registry -------------------------------------
#
# ``build`` above is the reference: stdlib ``EmailMessage`` under ``policy.default``.
# Parsing every header value back through the header registry is most of what it
# costs, and for the mails mailsup sends nearly every header is short ASCII that
# the registry would write back unchanged. ``build_bytes`` writes those directly
# and hands the rest (non-ASCII names and subjects, long lines) to the registry,
# so its output is the bytes ``build(...).as_bytes()`` gives, boundary aside
# (tests/test_mail_bytes.py holds it to that, for every mail kind).

_POLICY = policy.default
_MAX = _POLICY.max_line_length  # 78
_ADDRESS_HEADERS = frozenset({"from", "to", "cc", "reply-to", "sender"})
# Headers written exactly as given when short and plain: what the registry
# would fold to the same line. Anything else takes the registry's path.
_PLAIN = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?\Z")
_ADDRESS = re.compile(r"(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)* )?"
                      r"<[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+>"
                      r"|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+\Z")
_WIDTH = len(repr(sys.maxsize - 1))  # as email.generator makes its boundaries


def _plain(name: str, value: str) -> bool:
    if len(name) + 2 + len(value) > _MAX or "  " in value or "=?" in value \
            or not _PLAIN.match(value):
        return False
    if name.lower() in _ADDRESS_HEADERS:
        return all(_ADDRESS.fullmatch(part) for part in value.split(", "))
    return True


@lru_cache(maxsize=4096)
def header_line(name: str, value: str) -> str:
    """``Name: value\\n`` as EmailMessage would write it."""
    if _plain(name, value):
        return f"{name}: {value}\n"
    return _POLICY.header_factory(name, value).fold(policy=_POLICY)


def _encode_text(text: str) -> tuple[str, str]:
    """(Content-Transfer-Encoding, body) exactly as ``set_content`` chooses them.

    The stdlib's heuristic (email.contentmanager._encode_text) under
    ``policy.default``: 7bit or 8bit when every line fits, else whichever of
    quoted-printable and base64 is shorter on the first ten lines.
    """
    lines = text.encode("utf-8").splitlines()
    normal = b"\n".join(lines) + b"\n"
    if max((len(x) for x in lines), default=0) <= _MAX:
        try:
            return "7bit", normal.decode("ascii")
        except UnicodeDecodeError:
            return "8bit", normal.decode("ascii", "surrogateescape")
    sniff = b"\n".join(lines[:10]) + b"\n"
    encoded = [_qp_line(line.decode("latin-1")) for line in lines]
    sniff_qp = "\n".join(encoded[:10]) + "\n"
    if len(sniff_qp) > len(binascii.b2a_base64(sniff)):
        per_line = _MAX // 4 * 3
        return "base64", "".join(binascii.b2a_base64(normal[i:i + per_line]).decode("ascii")
                                 for i in range(0, len(normal), per_line))
    return "quoted-printable", "\n".join(encoded) + "\n"


@lru_cache(maxsize=8192)
def _qp_line(line: str) -> str:
    """``quoprimime.body_encode`` of one line (it encodes line by line): the lines of
    a template repeat from mail to mail, so each is encoded once."""
    return quoprimime.body_encode(line, _MAX) if line else ""


def _text_part(subtype: str, text: str, mime_version: bool) -> str:
    """One ``text/*; charset=utf-8`` part: headers, blank line, body (as set_content does)."""
    cte, body = _encode_text(text)
    head = (f'Content-Type: text/{subtype}; charset="utf-8"\n'
            f"Content-Transfer-Encoding: {cte}\n")
    if mime_version:  # EmailMessage leaves it on the part that add_alternative moved
        head += "MIME-Version: 1.0\n"
    return head + "\n" + body


def _boundary(parts: list[str]) -> str:
    while True:
        boundary = "=" * 15 + f"{random.randrange(sys.maxsize):0{_WIDTH}d}" + "=="
        if not any(boundary in part for part in parts):
            return boundary


def build_bytes(
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
) -> bytes:
    """The bytes of ``build(...)``, with the same arguments, at a fraction of the cost."""
    headers = [("From", sender), ("To", ", ".join(one_line(address, 998) for address in to)),
               ("Subject", rendered.subject),
               ("Date", format_datetime(date)), ("Message-ID", message_id)]
    if reply_to:
        headers.append(("Reply-To", formataddr(("mailsup", reply_to))))
    if in_reply_to:
        headers.append(("In-Reply-To", in_reply_to))
    if references:
        headers.append(("References", " ".join(references)))
    headers += [("Auto-Submitted", auto_submitted), ("X-Auto-Response-Suppress", "All")]
    headers += [(name, one_line(value)) for name, value in (extra_headers or {}).items()]
    for _name, value in headers:
        if "\r" in value or "\n" in value:  # what EmailMessage refuses, refused the same way
            raise ValueError("Header values may not contain linefeed or carriage return "
                             "characters")
    parts = [_text_part("plain", rendered.text, False), _text_part("html", rendered.html, True)]
    boundary = _boundary(parts)
    out = "".join(header_line(name, value) for name, value in headers)
    out += f'MIME-Version: 1.0\nContent-Type: multipart/alternative;\n boundary="{boundary}"\n\n'
    for part in parts:
        out += f"--{boundary}\n{part}\n"
    out += f"--{boundary}--\n"
    return out.encode("ascii", "surrogateescape")
