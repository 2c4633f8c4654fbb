"""The embedded SMTP door (aiosmtpd): ``250`` only after the raw row is committed.

An exception escaping ``handle_DATA`` would make aiosmtpd answer ``500`` — a
permanent failure, so the sending server would bounce and the mail be lost.
So everything is caught: the store being down is ``451`` (try later), only a
message that is itself unacceptable (too big) gets a ``5xx``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from aiosmtpd.controller import Controller

from mailsup.clock import utc_now
from mailsup.config import Settings
from mailsup.inbound.store import store_raw

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class InboundHandler:
    """aiosmtpd handler: accepts mail for our reply domain and stores it raw."""

    def __init__(self, settings: Settings, clock: Clock = utc_now,
                 on_stored: Callable[[int], None] | None = None):
        self.settings = settings
        self.clock = clock
        self.on_stored = on_stored
        self.domain = settings.reply_address.rpartition("@")[2]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().rpartition("@")[2] != self.domain:
            return f"550 5.1.1 <{address}>: not a mailsup address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or b""
        if len(raw) > self.settings.inbound.max_message_bytes:
            return "552 5.3.4 Message too big for mailsup"
        try:
            stored = await asyncio.to_thread(
                store_raw, raw, "smtp", self.clock(), envelope_from=envelope.mail_from or "",
                envelope_to=[a.lower() for a in envelope.rcpt_tos])
        except Exception:  # noqa: BLE001 - the store is unavailable: the sender retries
            log.exception("cannot store inbound mail; answering 451")
            return "451 4.3.0 Temporarily unable to store the message; try again later"
        if stored.created and self.on_stored is not None:
            try:
                self.on_stored(stored.row.id)
            except Exception:  # noqa: BLE001 - stored is stored; processing catches up
                log.exception("on_stored hook failed for inbound %d", stored.row.id)
        return "250 2.0.0 Stored"


def parse_listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        from mailsup.config import ConfigError

        raise ConfigError(f"[inbound] listen: {value!r} must be HOST:PORT, e.g. 127.0.0.1:8025")
    return host.strip("[]"), int(port)


def make_controller(settings: Settings, clock: Clock = utc_now,
                    on_stored: Callable[[int], None] | None = None,
                    listen: str | None = None) -> Controller:
    """A Controller owns the listener's thread and loop; a stopped one can't restart."""
    host, port = parse_listen(listen or settings.inbound.listen)
    handler = InboundHandler(settings, clock, on_stored)
    # aiosmtpd itself refuses oversize DATA with 552 before buffering it all.
    return Controller(handler, hostname=host, port=port,
                      data_size_limit=settings.inbound.max_message_bytes)
