"""pytest fixture for a real Dovecot IMAP server (see tests/dovecot.py).

Use it by listing this module in ``pytest_plugins`` (test module or root
conftest) or importing ``dovecot`` from it in the root conftest. Without the
``dovecot`` binary the test skips, or fails when ``MAILSUP_REQUIRE_SERVICES=1``
(CI), via ``tests.services.require_service``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dovecot import Dovecot, require_dovecot, start_dovecot


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    """A started Dovecot: ``.host .port .user .password .processed_folder``, user sup/secret."""
    require_dovecot()
    server = start_dovecot(tmp_path)
    try:
        yield server
    finally:
        server.stop()
