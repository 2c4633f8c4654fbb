"""Skip-or-fail for tests that need an outside service (Dovecot, PostgreSQL, ...).

Design §10: a test whose service is absent skips with a visible reason, but CI
sets ``MAILSUP_REQUIRE_SERVICES=1`` so that a missing service fails the run
instead of silently shrinking it.
"""

from __future__ import annotations

import os
from typing import NoReturn

REQUIRE_SERVICES_ENV = "MAILSUP_REQUIRE_SERVICES"


def services_required() -> bool:
    """True when the environment demands every service (``MAILSUP_REQUIRE_SERVICES=1``)."""
    return os.environ.get(REQUIRE_SERVICES_ENV, "").strip() == "1"


def require_service(reason: str) -> NoReturn:
    """Call when a needed service is missing: skip the test, or fail it under CI.

    ``reason`` should say how to get the service, e.g.
    ``"dovecot not installed: apt-get install dovecot-imapd"``.
    """
    import pytest  # only tests call this; the demo and benchmarks never do

    if services_required():
        pytest.fail(f"{reason} ({REQUIRE_SERVICES_ENV}=1)", pytrace=False)
    pytest.skip(reason)
