"""The Slack double lives in the package (``mailsup demo`` uses it too)."""

from mailsup.simulators.slack_api import *  # noqa: F401,F403
from mailsup.simulators.slack_api import SlackDouble  # noqa: F401
