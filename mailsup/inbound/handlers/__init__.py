"""Routing by reference kind, as data: the token says what a reply is about.

One module per route key, named for it; ``unreferenced`` takes what names
nothing we can trust.
"""

from __future__ import annotations

from collections.abc import Callable

from mailsup.inbound.ctx import Ctx
from mailsup.inbound.handlers import alias, bounce, escalation, hr_digest, sup, unreferenced

ROUTES: dict[str, Callable[[Ctx], None]] = {
    "sup": sup.handle,
    "hr_digest": hr_digest.handle,
    "bounce": bounce.handle,
    "escalation": escalation.handle,
    "alias": alias.handle,
}

__all__ = ["ROUTES", "alias", "bounce", "escalation", "hr_digest", "sup", "unreferenced"]
