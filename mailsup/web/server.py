"""Serve the pages with waitress on ``[web] listen``, in a thread or in the foreground.

``mailsup run`` starts a ``WebServer`` beside its other threads and stops it
on SIGTERM; ``mailsup web`` serves alone. Stopping closes the listening
socket from inside waitress's own loop, then lets requests in hand finish.
"""

from __future__ import annotations

import logging
import socket
import threading

from flask import Flask
from waitress import create_server, wasyncore

from mailsup.errors import UserError

log = logging.getLogger(__name__)

THREADS = 8


def parse_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def check_port(listen: str) -> None:
    """One line before "running" if the address is taken, instead of a dead thread later."""
    host, port = parse_listen(listen)
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UserError(f"[web] listen {host}:{port}: {exc.strerror}; choose another "
                            "address or start with --no-web") from None


class WebServer:
    def __init__(self, app: Flask, listen: str):
        host, port = parse_listen(listen)
        self.server = create_server(app, host=host, port=port, threads=THREADS,
                                    ident="mailsup")
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.effective_port

    @property
    def address(self) -> str:
        return f"{self.server.effective_host}:{self.port}"

    def start(self) -> WebServer:
        self.thread = threading.Thread(target=self.server.run, name="web", daemon=True)
        self.thread.start()
        log.info("pages on http://%s", self.address)
        return self

    def serve_forever(self) -> None:
        self.server.run()

    def stop(self, timeout: float = 10) -> None:
        # Closing every socket inside the loop's own thread ends its loop cleanly.
        self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.server._map))
        if self.thread is not None:
            self.thread.join(timeout)
        self.server.task_dispatcher.shutdown(timeout=timeout)
