"""Stand-ins shared by the tests, the demo and the benchmarks.

One copy of each: the SMTP sink (``sink``), the config writer (``config``),
the reply builder (``replies``), the GitHub and Slack API doubles, a real
Dovecot started from a temporary config (``dovecot``) and the skip-or-fail
rule for missing services (``services``). Nothing here is imported by the
service itself.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def at(text: str) -> datetime:
    """An aware UTC instant from 'YYYY-MM-DDTHH:MM' (tests and the demo name instants so)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
