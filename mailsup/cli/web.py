"""``mailsup web``: serve the pages alone (no scheduler, no doors), e.g. behind a proxy.

``mailsup run`` serves them too, on the same ``[web] listen``; this command is
for a separate process (another host, another user) sharing the database.
"""

from __future__ import annotations

import signal
import sys
import threading

from mailsup.cli.common import open_settings
from mailsup.config import parse_listen_value
from mailsup.errors import UserError
from mailsup.web.app import create_app
from mailsup.web.server import WebServer, check_port


def cmd_web(args) -> int:
    settings = open_settings(args)
    listen = parse_listen_value(args.listen, "--listen") if args.listen else settings.web.listen
    if not listen:
        raise UserError("[web] listen is empty (no pages); set it in mailsup.ini or pass "
                        "--listen HOST:PORT")
    if not settings.web.base_url:
        raise UserError("[web] base_url is empty; sign-in links need it, e.g. "
                        "base_url = https://sup.example.com")
    check_port(listen)
    server = WebServer(create_app(settings), listen).start()
    print(f"mailsup pages on http://{server.address} (mail links to {settings.web.base_url}); "
          "SIGTERM or Ctrl-C stops", file=sys.stderr, flush=True)
    stop = threading.Event()

    def on_signal(signum, _frame):
        print(f"mailsup web: {signal.Signals(signum).name} received, stopping", file=sys.stderr,
              flush=True)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0


def add_commands(sub) -> None:
    web = sub.add_parser("web", help="serve the pages alone (mailsup run serves them too)")
    web.add_argument("--listen", help="HOST:PORT (default: [web] listen)")
    web.set_defaults(func=cmd_web)
