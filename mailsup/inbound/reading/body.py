"""The human text of an inbound message, whatever MIME shape its client gave it.

Inbound mail is hostile input: bogus charsets, broken base64, headers the
stdlib chokes on. Everything here degrades to less text rather than raising,
because an exception would leave a reply unanswered (the raw message is kept
anyway, so a human can look).
"""

from __future__ import annotations

import codecs
import logging
import re
from email.message import EmailMessage, Message

from mailsup.inbound.reading.html_text import html_to_text

__all__ = ["decode_part", "reply_text", "unflow"]

log = logging.getLogger(__name__)

# Labels that in practice mean "the sender did not know": try UTF-8 first.
_VAGUE = {"", "us-ascii", "ascii", "unknown-8bit", "x-unknown", "unknown", "default", "none"}
# WHATWG decodes these labels as windows-1252; real mail does the same (curly quotes).
_LATIN1 = {"iso-8859-1", "latin-1", "latin1", "l1", "iso8859-1", "iso_8859-1", "cp819"}
_QUOTE_PREFIX = re.compile(r">+")


def reply_text(msg: EmailMessage) -> str:
    """Prefer text/plain, else HTML converted to text; "" when there is no text at all."""
    try:
        plain, html = _first_texts(msg)
        if plain is not None and plain.strip():
            return _normalise(plain)
        if html is not None and html.strip():
            return _normalise(html_to_text(html))
        return _normalise(plain or "")
    except Exception:  # noqa: BLE001 - broken mail must never stop the pipeline
        log.warning("could not read the body of an inbound message", exc_info=True)
        return ""


def _first_texts(msg: Message) -> tuple[str | None, str | None]:
    plain: str | None = None
    html: str | None = None
    for part in _body_parts(msg):
        ctype = _safe(part.get_content_type, "text/plain")
        if ctype == "text/plain" and plain is None:
            text = decode_part(part)
            if _safe(lambda p=part: p.get_param("format", "", "content-type"), "") == "flowed":
                delsp = _safe(lambda p=part: p.get_param("delsp", "", "content-type"), "")
                text = unflow(text, str(delsp).lower() == "yes")
            plain = text
        elif ctype == "text/html" and html is None:
            html = decode_part(part)
    return plain, html


def _body_parts(msg: Message):
    """Leaf parts in order, without attachments or attached (forwarded) messages."""
    if _safe(msg.is_multipart, False):
        for sub in _safe(msg.get_payload, []) or []:
            if not isinstance(sub, Message) or _is_attachment(sub):
                continue
            if _safe(sub.get_content_maintype, "") == "message":
                continue  # an attached mail is someone else's text, not the reply
            yield from _body_parts(sub)
    elif _safe(msg.get_content_maintype, "text") == "text" and not _is_attachment(msg):
        yield msg


def _is_attachment(part: Message) -> bool:
    disposition = _safe(part.get_content_disposition, None)
    return disposition == "attachment" or (
        disposition == "inline" and bool(_safe(part.get_filename, None)))


def decode_part(part: Message) -> str:
    """Payload as text: transfer encoding undone, charset applied, bad bytes replaced."""
    raw = _safe(lambda: part.get_payload(decode=True), None)
    if raw is None:
        payload = _safe(part.get_payload, "")
        return payload if isinstance(payload, str) else ""
    charset = str(_safe(lambda: part.get_content_charset(""), "") or "").strip().lower()
    return decode_bytes(raw, charset)


def decode_bytes(raw: bytes, charset: str) -> str:
    if charset in _VAGUE:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("windows-1252", errors="replace")
    if charset in _LATIN1:
        charset = "windows-1252"
    try:
        codecs.lookup(charset)
    except (LookupError, ValueError):
        charset = "utf-8"
    try:
        return raw.decode(charset, errors="replace")
    except Exception:  # noqa: BLE001 - some codecs raise other errors on odd input
        return raw.decode("utf-8", errors="replace")


def unflow(text: str, delsp: bool = False) -> str:
    """Undo RFC 3676 format=flowed so re-wrapped quote lines are whole again."""
    out: list[str] = []
    pending: tuple[int, str] | None = None
    for line in _normalise(text).split("\n"):
        match = _QUOTE_PREFIX.match(line)
        depth = len(match.group()) if match else 0
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        if pending is not None and pending[0] != depth:
            out.append(_flowed_line(*pending))
            pending = None
        if pending is not None:
            content = pending[1] + content
            pending = None
        if content.endswith(" ") and content.rstrip() != "--":
            pending = (depth, content[:-1] if delsp else content)
        else:
            out.append(_flowed_line(depth, content))
    if pending is not None:
        out.append(_flowed_line(*pending))
    return "\n".join(out)


def _flowed_line(depth: int, content: str) -> str:
    return ("> " * depth + content).rstrip(" ") if depth else content


def _normalise(text: str) -> str:
    # NUL: PostgreSQL text cannot hold it, and no person typed it.
    return (text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
            .replace("\x00", ""))


def _safe(call, default):
    try:
        return call()
    except Exception:  # noqa: BLE001 - the stdlib header parser can raise on garbage
        return default
