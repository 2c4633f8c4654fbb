"""GitHub for mailsup: whether it is configured, the client, and cheap, bounded GETs.

Why not PyGithub's PaginatedList: it never sends If-None-Match, and GitHub only
spares the rate limit for conditional requests answered 304. So every read goes
through `requester.requestJson` with an ETag cache, and rate limits and outages
become one exception the caller can show to people instead of a long stall.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

if TYPE_CHECKING:
    from github import Github

# PyGithub, requests and urllib3 are imported where a client is made or used, not
# here: loading them costs about 130 ms, and every ``mailsup`` command imports this
# module (once per mail where the MTA pipes replies to ``mailsup inbound deliver``),
# most of them never talking to GitHub.

log = logging.getLogger(__name__)

# Tests swap this out so nothing ever waits on a wall clock.
sleep: Callable[[float], None] = time.sleep

_NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="next"')


class GitHubUnavailable(Exception):
    """GitHub cannot be used right now (outage or rate limit); the message is for people."""


class GitHubRequestError(Exception):
    """A 4xx about one resource (missing repo, no access): worth a note, not a failure."""

    def __init__(self, status: int, url: str, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status, self.url = status, url


def configured(settings) -> bool:
    """The one answer to "is GitHub configured?": a token is set ([github] or the env)."""
    return bool(settings.github.token)


def client_for(settings) -> Github | None:
    """The client for ``settings``, or None when GitHub is not configured.

    A loopback base_url is a local stand-in (tests, a proxy): no politeness throttle.
    """
    if not configured(settings):
        return None
    host = urlparse(settings.github.base_url).hostname or ""
    local = host in ("127.0.0.1", "localhost", "::1")
    return make_github(settings.github.token, settings.github.base_url, for_tests=local)


def make_github(token: str, base_url: str, *, for_tests: bool = False) -> Github:
    """A client that never stalls a tick: few retries, no Retry-After sleeps inside urllib3.

    PyGithub's default GithubRetry honours Retry-After and rate-limit resets by sleeping,
    possibly for an hour; we would rather report "GitHub unavailable" and try next tick.
    """
    from github import Auth, Github
    from urllib3.util.retry import Retry

    common: dict[str, Any] = {"base_url": base_url, "auth": Auth.Token(token),
                              "per_page": 100, "lazy": True}
    if for_tests:
        return Github(**common, retry=None, timeout=5,
                      seconds_between_requests=0, seconds_between_writes=0)
    retry = Retry(total=2, backoff_factor=0.5, status_forcelist=(500, 502, 503, 504),
                  allowed_methods=frozenset({"GET", "HEAD"}),
                  respect_retry_after_header=False, raise_on_status=False)
    # Writes stay spaced out: GitHub's secondary limit is about 80 content writes a minute.
    return Github(**common, retry=retry, timeout=15,
                  seconds_between_requests=0.05, seconds_between_writes=1.0)


class EtagCache(Protocol):
    """Where conditional-request validators live; the integrator may back it with the DB.

    `body` is opaque text owned by this module (a JSON envelope of data + next link).
    """

    def get(self, url: str) -> tuple[str, str] | None: ...

    def put(self, url: str, etag: str, body: str) -> None: ...


class MemoryEtagCache:
    """A bounded in-process cache: windows move, so old URLs must age out."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._items: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._max = max_entries

    def get(self, url: str) -> tuple[str, str] | None:
        item = self._items.get(url)
        if item is not None:
            self._items.move_to_end(url)
        return item

    def put(self, url: str, etag: str, body: str) -> None:
        self._items[url] = (etag, body)
        self._items.move_to_end(url)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)






def _reset_text(reset: int | None) -> str:
    if reset is None:
        return "later"
    return datetime.fromtimestamp(reset, UTC).strftime("%H:%M UTC")


@dataclass
class Fetcher:
    """Conditional, paginated GETs that watch the rate limit as they go."""

    gh: Github
    cache: EtagCache
    min_remaining: int = 50
    max_wait: float = 5.0
    requests: int = 0        # answered with data: these cost rate limit
    not_modified: int = 0    # answered 304: free
    remaining: int | None = None
    reset: int | None = None

    def pages(self, url: str) -> Iterator[list[Any]]:
        """Yield each page's items; the caller may stop early to save requests."""
        next_url: str | None = url
        while next_url:
            data, next_url = self.get(next_url)
            yield data

    def items(self, url: str, stop: Callable[[Any], bool] | None = None) -> list[Any]:
        """All items, or those before the first one for which `stop` is true (sorted lists)."""
        out: list[Any] = []
        for page in self.pages(url):
            for item in page:
                if stop is not None and stop(item):
                    return out
                out.append(item)
        return out

    def get(self, url: str) -> tuple[Any, str | None]:
        """One page as (data, next page URL), served from the cache when GitHub says 304."""
        cached = self.cache.get(url)
        headers = {"If-None-Match": cached[0]} if cached else {}
        status, resp_headers, body = self._send(url, headers)
        if status == 304 and cached:
            self.not_modified += 1
            envelope = json.loads(cached[1])
            return envelope["data"], envelope["next"]
        self.requests += 1
        if status != 200:
            self._raise_for(status, url, body)
        match = _NEXT_LINK.search(resp_headers.get("link", ""))
        envelope = {"data": json.loads(body), "next": match.group(1) if match else None}
        if resp_headers.get("etag"):
            self.cache.put(url, resp_headers["etag"], json.dumps(envelope))
        return envelope["data"], envelope["next"]

    def _send(self, url: str, headers: dict[str, str]) -> tuple[int, dict[str, Any], str]:
        import requests  # loaded with the client already (see the imports above)

        for attempt in range(3):
            self._check_budget()
            try:
                status, resp_headers, body = self.gh.requester.requestJson(
                    "GET", url, headers=dict(headers))
            except (requests.RequestException, OSError) as exc:
                raise GitHubUnavailable(f"GitHub is unreachable ({type(exc).__name__})") from exc
            self._note_rate(resp_headers)
            wait = self._secondary_wait(status, resp_headers)
            if wait is None:
                return status, resp_headers, body
            if wait > self.max_wait or attempt == 2:
                raise GitHubUnavailable(f"GitHub asked us to slow down for {wait:.0f}s")
            log.info("GitHub secondary rate limit on %s: waiting %.0fs", url, wait)
            sleep(wait)
        raise AssertionError("unreachable")

    def _check_budget(self) -> None:
        if self.remaining is not None and self.remaining < self.min_remaining:
            raise GitHubUnavailable(
                f"GitHub rate limit nearly used up ({self.remaining} requests left); "
                f"it resets at {_reset_text(self.reset)}")

    def _note_rate(self, headers: dict[str, Any]) -> None:
        if "x-ratelimit-remaining" in headers:
            self.remaining = int(float(headers["x-ratelimit-remaining"]))
        if "x-ratelimit-reset" in headers:
            self.reset = int(float(headers["x-ratelimit-reset"]))

    def _secondary_wait(self, status: int, headers: dict[str, Any]) -> float | None:
        """Seconds GitHub asks us to wait, or None when this is not a throttling answer."""
        if status not in (403, 429):
            return None
        if self.remaining == 0:
            raise GitHubUnavailable(
                f"GitHub rate limit exhausted; it resets at {_reset_text(self.reset)}")
        if "retry-after" in headers:
            return float(headers["retry-after"])
        return None

    def _raise_for(self, status: int, url: str, body: str) -> None:
        try:
            message = json.loads(body).get("message", "") if body else ""
        except ValueError:
            message = body[:100]
        if status >= 500:
            raise GitHubUnavailable(f"GitHub is failing (HTTP {status})")
        if status == 401:
            # Not one repo's problem: every repo would fail the same way.
            raise GitHubUnavailable("GitHub rejected the token (HTTP 401)")
        if status == 403 and "rate limit" in str(message).lower():
            raise GitHubUnavailable(f"GitHub rate limit hit: {message}")
        raise GitHubRequestError(status, url, str(message) or "error")



