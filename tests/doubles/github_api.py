"""The GitHub double lives in the package (``mailsup demo`` uses it too)."""

from mailsup.simulators.github_api import *  # noqa: F401,F403
from mailsup.simulators.github_api import GitHubDouble  # noqa: F401
