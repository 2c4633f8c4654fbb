"""What one message may cost: past these bounds it is quarantined at once, with the reason.

The pipeline handles one message at a time, so a message that takes a minute
stalls every reply behind it. The stdlib's header parser is quadratic in
encoded words (a 20k-word Subject took a minute) and slow on long address
lists (20,000 addresses in Cc: 19 s); its body parser and our trimming are
linear but slow per line (3 MB of newlines: 22 s). No stand-up reply comes
near any of these bounds; a quarantined message is kept, and the operator
sees why in ``mailsup inbound list``.

``raw_problem`` looks at bytes only (cheap, never raises) and runs before the
stdlib parses anything; ``structure_problem`` runs on the parsed message. The
wall-clock budget (``[inbound] message_seconds``) catches whatever they miss.
"""

from __future__ import annotations

from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

MAX_HEADER_BLOCK = 256 * 1024  # bytes of all headers together
MAX_HEADERS = 500  # header fields
MAX_HEADER_BYTES = 16 * 1024  # one header field, folded lines joined
MAX_RECIPIENTS = 100  # addresses examined in To, Cc, Delivered-To, X-Original-To
MAX_LINES = 200_000  # lines in the whole message (a 10 MB base64 attachment: ~136,000)
MAX_TEXT_BYTES = 4 * 1024 * 1024  # one decoded text/plain part (the reader reads 64,000 chars)
# Lines in one decoded text/plain part: a 1 MB log pasted into a reply (~22,000 lines)
# is still read up to the reader's limit and answered (issue 10), not quarantined.
MAX_TEXT_LINES = 50_000
MAX_HTML_BYTES = 2 * 1024 * 1024  # one decoded text/html part
MAX_MIME_DEPTH = 10  # multipart inside multipart …
MAX_PARTS = 200  # MIME parts in all

_RECIPIENT_HEADERS = ("to", "cc", "delivered-to", "x-original-to")


class OverBudget(Exception):
    """The message took longer than ``[inbound] message_seconds``: roll back, quarantine."""


def _header_block(raw: bytes) -> bytes:
    ends = [end for end in (raw.find(b"\n\n"), raw.find(b"\n\r\n")) if end >= 0]
    return raw[:min(ends) + 1] if ends else raw


def raw_problem(raw: bytes) -> str:
    """Why the bytes are too costly to parse, or ""."""
    head = _header_block(raw)
    if len(head) > MAX_HEADER_BLOCK:
        return f"headers of {len(head):,} bytes (more than {MAX_HEADER_BLOCK:,})"
    fields, longest = 0, 0
    current = 0
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            current += len(line)
        else:
            fields += bool(line.strip())
            current = len(line)
        longest = max(longest, current)
    if fields > MAX_HEADERS:
        return f"{fields:,} header fields (more than {MAX_HEADERS:,})"
    if longest > MAX_HEADER_BYTES:
        return f"a header field of {longest:,} bytes (more than {MAX_HEADER_BYTES:,})"
    lines = raw.count(b"\n")
    if lines > MAX_LINES:
        return f"{lines:,} lines (more than {MAX_LINES:,})"
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(head + b"\n")
        values = [str(v) for name, v in headers.items() if name.lower() in _RECIPIENT_HEADERS]
        recipients = len(getaddresses(values))
    except Exception:  # noqa: BLE001 - unreadable headers are the later steps' business
        recipients = 0
    if recipients > MAX_RECIPIENTS:
        return f"{recipients:,} recipient addresses (more than {MAX_RECIPIENTS:,})"
    return ""


def structure_problem(msg: Message) -> str:
    """Why the parsed message is too costly to read, or "" (walks iteratively, never raises)."""
    try:
        return _structure_problem(msg)
    except Exception:  # noqa: BLE001 - broken MIME is for the reading steps to degrade on
        return ""


def _structure_problem(msg: Message) -> str:
    stack, parts = [(msg, 1)], 0
    while stack:
        part, depth = stack.pop()
        parts += 1
        if depth > MAX_MIME_DEPTH:
            return f"MIME parts nested {depth} deep (more than {MAX_MIME_DEPTH})"
        if parts > MAX_PARTS:
            return f"more than {MAX_PARTS} MIME parts"
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend((sub, depth + 1) for sub in payload if isinstance(sub, Message))
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html") or not isinstance(payload, str):
            continue
        if len(payload) > 4 * MAX_HTML_BYTES:  # before decoding: base64 is 4/3, QP up to 3×
            return f"a {ctype} part of {len(payload):,} bytes"
        text = part.get_payload(decode=True) or b""
        if ctype == "text/html":
            if len(text) > MAX_HTML_BYTES:
                return f"an HTML part of {len(text):,} bytes (more than {MAX_HTML_BYTES:,})"
            continue
        if len(text) > MAX_TEXT_BYTES:
            return f"a text part of {len(text):,} bytes (more than {MAX_TEXT_BYTES:,})"
        lines = text.count(b"\n") + text.count(b"\r") - text.count(b"\r\n")
        if lines > MAX_TEXT_LINES:
            return f"a text part of {lines:,} lines (more than {MAX_TEXT_LINES:,})"
    return ""
