"""Keys and signed values of the pages, all derived from ``[mailsup] secret``.

Each purpose gets its own key (HMAC of the secret with the purpose's name), so
a value signed for one use — a session cookie, the answer link of a SUP — can
never be replayed as another, and none of them is a reply token
(``mailsup.tokens``) or the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_ANSWER_CHARS = 26  # 130 bits of base32
SIGN_IN_MINUTES = 15  # how long a one-time sign-in link works (design §12)


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
