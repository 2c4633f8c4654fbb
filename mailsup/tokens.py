"""Signed reply tokens carried in the Reply-To address.

``sup+s42-k3j9x0q2mz7a5bcd@example.com``: a kind letter and an id say what the
reply is about; the HMAC says we issued it. Tokens are lowercase base32 because
some mail servers change the case of local parts, and short because a local part
is at most 64 octets (RFC 5321).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

# What a reply can be about; routing maps these kinds to handlers.
# "e": a blocker escalation (its Effect id), answered by the delivery manager;
# "a": a notice about a reply from an unregistered address (the kept inbound id).
KINDS = {"s": "sup", "d": "hr_digest", "b": "bounce", "e": "escalation", "a": "alias"}
_MAC_CHARS = 16  # 80 bits
_TOKEN_RE = re.compile(rf"^([a-z])(\d{{1,12}})-([a-z2-7]{{{_MAC_CHARS}}})$")


@dataclass(frozen=True)
class Token:
    kind: str
    ident: int


def _mac(secret: str, kind: str, ident: int) -> str:
    digest = hmac.new(secret.encode(), f"mailsup:{kind}:{ident}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:_MAC_CHARS]


def sign(secret: str, kind: str, ident: int) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown token kind {kind!r}")
    return f"{kind}{ident}-{_mac(secret, kind, ident)}"


def verify(secret: str, token: str) -> Token | None:
    """The token's meaning if we signed it, else None (never raises)."""
    match = _TOKEN_RE.match(token.strip().lower())
    if not match:
        return None
    kind, ident, mac = match.group(1), int(match.group(2)), match.group(3)
    if kind not in KINDS or not hmac.compare_digest(mac, _mac(secret, kind, ident)):
        return None
    return Token(kind, ident)


def reply_address(base: str, token: str) -> str:
    local, _, domain = base.partition("@")
    return f"{local}+{token}@{domain}"


def address_for(settings, kind: str, ident: int) -> str:
    """The one builder of signed addresses: ``sup+<kind><id>-<mac>@domain``.

    ``settings`` is the loaded ``Settings`` (its ``secret`` and
    ``reply_address``); the kinds are ``KINDS``.
    """
    return reply_address(settings.reply_address, sign(settings.secret, kind, ident))


def token_from_address(base: str, address: str) -> str | None:
    """Extract the token from ``local+token@domain`` if it is our address."""
    local, _, domain = base.lower().partition("@")
    addr_local, _, addr_domain = address.strip().lower().partition("@")
    if addr_domain != domain or not addr_local.startswith(local + "+"):
        return None
    return addr_local[len(local) + 1:]
