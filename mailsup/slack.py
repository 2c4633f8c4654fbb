"""Slack nags: thin functions over slack_sdk's ``WebClient``.

Slack is a secondary channel (design §6): optional ("no token, no Slack"), and a
failure must never block email or stall a scheduler tick. So every failure
leaves here as one ``SlackError`` with a one-line reason that the caller logs
before trying again on the next tick, and retries inside one call are few and
short.
"""

from __future__ import annotations

import http.client
import logging
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    FixedValueRetryIntervalCalculator,
    HttpRequest,
    HttpResponse,
    RateLimitErrorRetryHandler,
    RetryHandler,
    RetryState,
)
from slack_sdk.web import SlackResponse

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://slack.com/api/"
DEFAULT_TIMEOUT = 10
DEFAULT_MAX_RETRIES = 1
DEFAULT_MAX_RETRY_WAIT = 3.0


class SlackError(Exception):
    """A Slack call failed; the message is one line fit for a log.

    ``error`` is Slack's error code (``user_not_found``, ``ratelimited``...) when
    Slack answered; ``retry_after`` is the server's requested wait in seconds on a
    429, so a caller may postpone its next attempt.
    """

    def __init__(self, reason: str, *, error: str | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.error = error
        self.retry_after = retry_after


class CappedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Retry a 429 only when Slack asks for a short wait, and wait exactly that long.

    slack_sdk's own handler sleeps for whatever ``Retry-After`` says (which can be
    minutes); retrying earlier than asked would only earn another 429. Giving up
    at once on a long wait keeps the tick short; the next tick tries again.
    """

    def __init__(self, max_retry_count: int, max_wait: float):
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after_seconds(response.headers)
        return wait is not None and wait <= self.max_wait

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        wait = retry_after_seconds(response.headers) if response is not None else None
        log.info("Slack rate limited %s; retrying in %.1fs", request.url, wait or 0.0)
        time.sleep(wait or 0.0)
        state.next_attempt_requested = True
        state.increment_current_attempt()


def retry_after_seconds(headers: dict) -> float | None:
    """Read ``Retry-After`` (delta seconds) from a header mapping of str or list values.

    Returns None when absent or not a number (an HTTP-date is not worth honouring
    precisely here: the caller just tries on a later tick).
    """
    for name, value in headers.items():
        if name.lower() != "retry-after":
            continue
        raw = value[0] if isinstance(value, list | tuple) else value
        try:
            return max(0.0, float(raw))
        except (TypeError, ValueError):
            return None
    return None


def retry_handlers(max_retries: int, max_retry_wait: float) -> list[RetryHandler]:
    """Connection errors and short 429s get ``max_retries`` quick retries; nothing else does."""
    return [
        ConnectionErrorRetryHandler(
            max_retry_count=max_retries,
            interval_calculator=FixedValueRetryIntervalCalculator(fixed_internal=0.2),
        ),
        CappedRateLimitRetryHandler(max_retry_count=max_retries, max_wait=max_retry_wait),
    ]


def make_client(
    token: str | None,
    base_url: str | None = DEFAULT_BASE_URL,
    *,
    timeout: int = DEFAULT_TIMEOUT,
    max_retries: int = DEFAULT_MAX_RETRIES,
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
) -> WebClient | None:
    """Build the client, or None when no token is configured ("no token, no Slack").

    ``timeout`` is per HTTP request and shorter than slack_sdk's 30 s so that an
    unresponsive Slack cannot hold up a tick for long.
    """
    token = (token or "").strip()
    if not token:
        return None
    return WebClient(
        token=token,
        base_url=base_url or DEFAULT_BASE_URL,
        timeout=timeout,
        retry_handlers=retry_handlers(max_retries, max_retry_wait),
    )


def send_dm(
    client: WebClient,
    user_id: str,
    text: str,
    channel_cache: dict[str, str] | None = None,
) -> str:
    """Send ``text`` as a direct message to ``user_id``; return the message ``ts``.

    A DM needs a channel id from ``conversations.open``; ``channel_cache``
    (user id -> channel id) saves that call on later nags. A cached id is dropped
    when posting fails, so a stale one heals itself on the next tick.
    """
    channel = dm_channel(client, user_id, channel_cache)
    try:
        response = _call("chat.postMessage", client.chat_postMessage, channel=channel, text=text)
    except SlackError:
        if channel_cache is not None:
            channel_cache.pop(user_id, None)
        raise
    ts = response.get("ts")
    if not ts:
        raise SlackError("chat.postMessage failed: response has no ts")
    log.debug("Slack DM to %s sent (channel %s, ts %s)", user_id, channel, ts)
    return str(ts)


def dm_channel(client: WebClient, user_id: str, channel_cache: dict[str, str] | None = None) -> str:
    """Return the DM channel id for ``user_id``, opening it only when not cached."""
    if channel_cache is not None and user_id in channel_cache:
        return channel_cache[user_id]
    response = _call("conversations.open", client.conversations_open, users=user_id)
    channel = (response.get("channel") or {}).get("id")
    if not channel:
        raise SlackError("conversations.open failed: response has no channel id")
    if channel_cache is not None:
        channel_cache[user_id] = channel
    return channel


def auth_test(client: WebClient) -> dict:
    """Who the token is (``auth.test``): what ``mailsup check`` shows; raises ``SlackError``."""
    return dict(_call("auth.test", client.auth_test).data)


def _call(method: str, func: Callable[..., SlackResponse], **kwargs: object) -> SlackResponse:
    """Run one slack_sdk call, turning every failure into a ``SlackError``."""
    try:
        return func(**kwargs)
    except SlackApiError as exc:
        raise _api_error(method, exc) from exc
    except SlackClientError as exc:
        raise SlackError(f"{method} failed: {_one_line(exc)}") from exc
    except (OSError, http.client.HTTPException) as exc:
        # urllib's URLError (refused, DNS), timeouts and resets are all OSError.
        raise SlackError(f"{method} failed: connection error: {_one_line(exc)}") from exc


def _api_error(method: str, exc: SlackApiError) -> SlackError:
    """Describe an answer from Slack (HTTP error or ``ok: false``) in one line."""
    response = exc.response
    status = getattr(response, "status_code", None)
    error = _error_code(getattr(response, "data", None))
    if status == 429:
        wait = retry_after_seconds(dict(getattr(response, "headers", None) or {}))
        shown = f"{wait:g}s" if wait is not None else "unknown"
        return SlackError(
            f"{method} failed: rate limited (HTTP 429, Retry-After {shown})",
            error=error or "ratelimited",
            retry_after=wait,
        )
    if status != 200:
        return SlackError(f"{method} failed: HTTP {status}", error=error)
    return SlackError(f"{method} failed: {error or 'unknown error'}", error=error)


def _error_code(data: object) -> str | None:
    """Slack's ``error`` code, or None when the body was not a Slack answer (e.g. HTML)."""
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str) and error and not any(c.isspace() for c in error):
        return error
    return None


def _one_line(exc: BaseException) -> str:
    """Exception text squeezed onto one line (log lines must stay single lines)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
