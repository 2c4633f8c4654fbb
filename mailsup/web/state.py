"""What every page reads from the running app: settings, the clock, the outbox nudge.

A leaf the blueprints import (``app`` imports the blueprints, so they cannot
import ``app``). Time is a parameter here too: tests give the app their clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from mailsup.config import Settings
from mailsup.models import db
from mailsup.outbound import sender

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class WebState:
    settings: Settings
    clock: Clock
    # Called after a page queued mail (a sign-in link, an escalation, a retry),
    # so it goes out now rather than at the next tick.
    send_soon: Callable[[], None]


def state() -> WebState:
    return current_app.extensions["mailsup"]


def settings() -> Settings:
    return state().settings


def now() -> datetime:
    return state().clock()


def send_soon() -> None:
    state().send_soon()


def background_flush(settings: Settings, clock: Clock) -> Callable[[], None]:
    """Flush the outbox on a short-lived thread: a page never waits for the relay."""
    def run() -> None:
        try:
            sender.flush(settings, clock())
        except Exception:  # noqa: BLE001 - the rows stay queued for the next tick
            log.exception("sending queued mail from the pages failed")
        finally:
            db.close()

    def start() -> None:
        threading.Thread(target=run, name="web-send", daemon=True).start()
    return start
