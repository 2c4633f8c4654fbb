"""pytest fixture for the Slack API double.

Use it by importing the fixture into a test module (or listing this module in a
conftest's ``pytest_plugins``)::

    from tests.doubles.slack_fixture import slack_double  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.doubles.slack_api import SlackDouble


@pytest.fixture
def slack_double() -> Iterator[SlackDouble]:
    """A started Slack double; ``.base_url`` ends in ``/api/``, ``.token`` is accepted."""
    with SlackDouble() as server:
        yield server
