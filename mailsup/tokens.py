"""Every value signed with ``[mailsup] secret``: reply tokens, and the pages' keys.

Reply tokens ride in the Reply-To address:
``sup+s42-20261125-k3j9x0q2mz7a5bcd@example.com``: a kind letter and an id say
what the reply is about, the day (the SUP's, or the day the mail was sent) lets
it expire after ``[mailsup] token_days``; the HMAC, over all three, says we
issued it. Tokens without a day (``sup+s42-k3j9…``, before issue 14) still
verify: they are in people's mailboxes, and expire by their SUP's day.

Tokens are lowercase base32 because some mail servers change the case of local
parts, and short because a local part is at most 64 octets (RFC 5321).

The pages' values (the answer link of a SUP, session cookies, CSRF) each get
their own key, an HMAC of the secret with the purpose's name (``derive_key``),
so a value signed for one use can never be replayed as another, and none of
them is a reply token or the other way round. They live here, below the mail
and the pages alike, because every mail carries the answer link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, datetime

# What a reply can be about; routing maps these kinds to handlers.
# "e": a blocker escalation (its Effect id), answered by the delivery manager;
# "a": a notice about a reply from an unregistered address (the kept inbound id).
KINDS = {"s": "sup", "d": "hr_digest", "b": "bounce", "e": "escalation", "a": "alias"}
_MAC_CHARS = 16  # 80 bits
_ANSWER_CHARS = 26  # 130 bits of base32
SIGN_IN_MINUTES = 15  # how long a one-time sign-in link works (design §12)
_TOKEN_RE = re.compile(rf"^([a-z])(\d{{1,12}})(?:-(\d{{8}}))?-([a-z2-7]{{{_MAC_CHARS}}})$")


@dataclass(frozen=True)
class Token:
    kind: str
    ident: int
    day: date | None = None  # None: a token from before days were signed


def _mac(secret: str, kind: str, ident: int, day: date | None = None) -> str:
    text = f"mailsup:{kind}:{ident}" + (f":{day:%Y%m%d}" if day else "")
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:_MAC_CHARS]


def sign(secret: str, kind: str, ident: int, day: date | datetime | None = None) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown token kind {kind!r}")
    if isinstance(day, datetime):
        day = day.date()
    if day is None:
        return f"{kind}{ident}-{_mac(secret, kind, ident)}"
    return f"{kind}{ident}-{day:%Y%m%d}-{_mac(secret, kind, ident, day)}"


def verify(secret: str, token: str) -> Token | None:
    """The token's meaning if we signed it, else None (never raises)."""
    match = _TOKEN_RE.match(token.strip().lower())
    if not match:
        return None
    kind, ident, stamp, mac = (match.group(1), int(match.group(2)), match.group(3),
                               match.group(4))
    try:
        day = datetime.strptime(stamp, "%Y%m%d").date() if stamp else None
    except ValueError:
        return None
    if kind not in KINDS or not hmac.compare_digest(mac, _mac(secret, kind, ident, day)):
        return None
    return Token(kind, ident, day)


def reply_address(base: str, token: str) -> str:
    local, _, domain = base.partition("@")
    return f"{local}+{token}@{domain}"


def address_for(settings, kind: str, ident: int, day: date | datetime | None = None) -> str:
    """The one builder of signed addresses: ``sup+<kind><id>-<yyyymmdd>-<mac>@domain``.

    ``settings`` is the loaded ``Settings`` (its ``secret`` and
    ``reply_address``); the kinds are ``KINDS``; ``day`` is the SUP's day, or
    the day the mail goes out.
    """
    return reply_address(settings.reply_address, sign(settings.secret, kind, ident, day))


def token_from_address(base: str, address: str) -> str | None:
    """Extract the token from ``local+token@domain`` if it is our address."""
    local, _, domain = base.lower().partition("@")
    addr_local, _, addr_domain = address.strip().lower().partition("@")
    if addr_domain != domain or not addr_local.startswith(local + "+"):
        return None
    return addr_local[len(local) + 1:]


# -- the pages' values ---------------------------------------------------------

def derive_key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"mailsup-web:{purpose}".encode(), hashlib.sha256).digest()


def _answer_mac(secret: str, sup_id: int) -> str:
    digest = hmac.new(derive_key(secret, "answer"), str(sup_id).encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:_ANSWER_CHARS]


def answer_token(secret: str, sup_id: int) -> str:
    """The ``t`` of ``/sups/<id>/answer?t=…``: names that SUP's form and nothing else.

    Deterministic, so the preview of a SUP mail shows the very link that is
    sent; it stops working when the SUP is reviewed (the page checks that).
    """
    return _answer_mac(secret, sup_id)


def answer_token_ok(secret: str, sup_id: int, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(token.strip().lower(), _answer_mac(secret, sup_id))


def hash_token(token: str) -> str:
    """What the database keeps of a sign-in token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()
