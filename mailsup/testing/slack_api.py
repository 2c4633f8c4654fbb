"""An in-process double of the two Slack Web API methods mailsup uses.

The real slack_sdk client talks real HTTP to it (design §10), so tests cover
how slack_sdk encodes requests (``conversations.open`` form-encoded,
``chat.postMessage`` JSON, Bearer token) and how it reacts to 429s, ``ok: false``
and outages. Every request is recorded so tests can count calls.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

DEFAULT_TOKEN = "xoxb-mailsup-test"


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the double received it (also the rejected ones)."""

    method: str  # HTTP verb, always POST from slack_sdk
    endpoint: str  # Slack API method, e.g. "chat.postMessage"
    params: dict[str, Any]
    content_type: str
    token: str | None


@dataclass(frozen=True)
class SentMessage:
    """A message accepted by ``chat.postMessage``."""

    channel: str
    user: str | None  # the DM's user, when the channel was opened by conversations.open
    text: str
    ts: str


@dataclass
class _Failure:
    """A queued misbehaviour for the next matching calls."""

    remaining: int
    endpoint: str | None
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class SlackDouble:
    """Serve ``/api/conversations.open`` and ``/api/chat.postMessage`` on 127.0.0.1.

    Switches: ``rate_limit(n, retry_after)``, ``fail(error, n)``, ``down(kind)`` /
    ``up()``. ``known_users`` (None = any) makes other users ``user_not_found``.
    """

    def __init__(self, token: str = DEFAULT_TOKEN, known_users: set[str] | None = None):
        self.token = token
        self.known_users = known_users
        self.requests: list[RecordedRequest] = []
        self.messages: list[SentMessage] = []
        self._channels: dict[str, str] = {}  # DM channel id -> user id
        self._failures: list[_Failure] = []
        self._down: str | None = None
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What to pass as slack_sdk's ``base_url``."""
        return f"http://127.0.0.1:{self.port}/api/"

    def start(self) -> SlackDouble:
        """Listen (on a free port the first time, then on the same port again)."""
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="slack-double"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; the port then refuses connections."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SlackDouble:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- switches --------------------------------------------------------

    def rate_limit(self, times: int = 1, retry_after: int = 1, endpoint: str | None = None) -> None:
        """Answer the next ``times`` calls with 429 and ``Retry-After: retry_after``."""
        self._queue(
            _Failure(
                times,
                endpoint,
                429,
                {"ok": False, "error": "ratelimited"},
                {"Retry-After": str(retry_after)},
            )
        )

    def fail(
        self, error: str = "user_not_found", times: int = 1, endpoint: str | None = None
    ) -> None:
        """Answer the next ``times`` calls with HTTP 200 and ``{"ok": false, "error": error}``."""
        self._queue(_Failure(times, endpoint, 200, {"ok": False, "error": error}))

    def down(self, kind: str = "refused") -> None:
        """Simulate an outage: ``"refused"`` (nothing listens) or ``"500"`` (HTML 500s)."""
        if kind not in ("refused", "500"):
            raise ValueError(f"unknown outage kind: {kind!r}")
        self._down = kind
        if kind == "refused":
            self.stop()

    def up(self) -> None:
        """End an outage started by ``down()``; the port stays the same."""
        if self._down == "refused":
            self.start()
        self._down = None

    # -- inspection ------------------------------------------------------

    def calls(self, endpoint: str) -> list[RecordedRequest]:
        """Recorded requests to one API method, in order."""
        with self._lock:
            return [r for r in self.requests if r.endpoint == endpoint]

    def count(self, endpoint: str) -> int:
        """How many requests reached one API method (including rejected ones)."""
        return len(self.calls(endpoint))

    # -- request handling (called from server threads) -------------------

    def _queue(self, failure: _Failure) -> None:
        with self._lock:
            self._failures.append(failure)

    def handle(self, request: RecordedRequest) -> tuple[int, dict[str, Any] | str, dict[str, str]]:
        """Decide the answer to one request: (status, JSON body or text, headers)."""
        with self._lock:
            self.requests.append(request)
            if self._down == "500":
                return 500, "<html><body>Internal Server Error</body></html>", {}
            failure = self._take_failure(request.endpoint)
            if failure is not None:
                return failure.status, failure.body, failure.headers
            if not request.token:
                return 200, {"ok": False, "error": "not_authed"}, {}
            if request.token != self.token:
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            api = _API.get(request.endpoint)
            if api is None:
                return 200, {"ok": False, "error": "unknown_method"}, {}
            return 200, api(self, request.params), {}

    def _take_failure(self, endpoint: str) -> _Failure | None:
        for failure in self._failures:
            if failure.endpoint in (None, endpoint):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(params.get("users", "")).split(",") if u]
        if len(users) != 1:
            return {"ok": False, "error": "users_list_not_supplied" if not users else "not_dm"}
        user = users[0]
        if self.known_users is not None and user not in self.known_users:
            return {"ok": False, "error": "user_not_found"}
        channel = "D" + user
        self._channels[channel] = user
        return {"ok": True, "channel": {"id": channel}}

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        text = params.get("text")
        if channel not in self._channels:
            return {"ok": False, "error": "channel_not_found"}
        if not text:
            return {"ok": False, "error": "no_text"}
        ts = f"1700000000.{next(self._ts):06d}"
        self.messages.append(SentMessage(channel, self._channels[channel], text, ts))
        message = {"type": "message", "text": text, "ts": ts}
        return {"ok": True, "channel": channel, "ts": ts, "message": message}


    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://test.slack.test/", "team": "Test Team",
                "user": "mailsup", "team_id": "T0TEST", "user_id": "U0MAILSUP",
                "bot_id": "B0MAILSUP"}


_API = {
    "auth.test": SlackDouble._auth_test,
    "conversations.open": SlackDouble._conversations_open,
    "chat.postMessage": SlackDouble._chat_post_message,
}


def _handler_for(double: SlackDouble) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to one double."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            request = self._parse()
            if request is None:
                self._send(404, {"ok": False, "error": "unknown_method"}, {})
                return
            self._send(*double.handle(request))

        def do_GET(self) -> None:  # noqa: N802
            self.do_POST()

        def _parse(self) -> RecordedRequest | None:
            path = self.path.split("?", 1)[0]
            if not path.startswith("/api/"):
                return None
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            content_type = self.headers.get("Content-Type", "")
            return RecordedRequest(
                method=self.command,
                endpoint=path[len("/api/") :],
                params=_params(content_type, body),
                content_type=content_type.split(";", 1)[0].strip(),
                token=_bearer(self.headers.get("Authorization")),
            )

        def _send(self, status: int, body: dict[str, Any] | str, headers: dict[str, str]) -> None:
            if isinstance(body, dict):
                data, kind = json.dumps(body).encode(), "application/json; charset=utf-8"
            else:
                data, kind = body.encode(), "text/html; charset=utf-8"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep pytest output clean; the double records requests instead."""

    return Handler


def _params(content_type: str, body: bytes) -> dict[str, Any]:
    """Decode a form-encoded or JSON body into a dict (slack_sdk sends both)."""
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return json.loads(body.decode("utf-8"))
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


def _bearer(header: str | None) -> str | None:
    """The token from ``Authorization: Bearer <token>``, if any."""
    if header and header.startswith("Bearer "):
        return header[len("Bearer ") :].strip()
    return None
