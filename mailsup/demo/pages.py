"""The demo's pages: served on a free port and reached as a person would, over HTTP.

``sign_in_link`` asks ``/login`` for a link (GET for the CSRF token, POST the
address), the page queues the mail through the outbox, and the link is read
from the mail the demo's relay received: the real path, end to end.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from http.cookiejar import CookieJar
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, build_opener

from mailsup.config import Settings
from mailsup.testing.sink import SmtpSink
from mailsup.web.app import create_app
from mailsup.web.server import WebServer

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LINK = re.compile(r"(https?://\S+/login/[A-Za-z0-9_-]+)")


class DemoPages:
    def __init__(self, settings: Settings, clock: Callable[[], datetime]):
        self.base_url = settings.web.base_url
        self.server = WebServer(create_app(settings, clock), settings.web.listen).start()

    def sign_in_link(self, address: str, sink: SmtpSink, timeout: float = 10) -> str | None:
        opener = build_opener(HTTPCookieProcessor(CookieJar()))
        page = opener.open(f"{self.base_url}/login", timeout=timeout).read().decode()
        form = {"email": address, "csrf_token": _CSRF.search(page).group(1)}
        opener.open(f"{self.base_url}/login", data=urlencode(form).encode(), timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for mail in reversed(sink.to(address)):
                found = _LINK.search(mail.text) if "sign-in" in str(mail["Subject"]) else None
                if found:
                    return found.group(1)
            time.sleep(0.05)
        return None

    def stop(self) -> None:
        self.server.stop()
