"""pytest fixture for the GitHub double; conftest.py imports it by name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.doubles.github_api import GitHubDouble


@pytest.fixture
def github_double() -> Iterator[GitHubDouble]:
    """A fresh GitHub double per test, listening on 127.0.0.1 at an ephemeral port."""
    with GitHubDouble(token="test-token") as double:
        yield double
