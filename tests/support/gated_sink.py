"""A relay that can be made to stall after N mails, so a kill lands at a known point.

The plain sink accepts everything at once; to kill a sender "after the relay
has accepted ten mails and before it recorded them" the relay itself has to
hold the eleventh, signal the test, and never accept it.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from mailsup.testing.sink import SinkHandler, SmtpSink


@dataclass
class GatedHandler(SinkHandler):
    """Accepts mail like the sink; with ``gate_after`` set, stalls the next DATA."""

    gate_after: int | None = None
    stall_seconds: float = 3.0
    reached: threading.Event = field(default_factory=threading.Event)
    on_accepted: int | None = None
    accepted: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server, session, envelope):
        if self.gate_after is not None and len(self.messages) >= self.gate_after:
            self.reached.set()
            await asyncio.sleep(self.stall_seconds)  # the sender is killed meanwhile
            return "421 4.3.2 relay closing"
        reply = await super().handle_DATA(server, session, envelope)
        if self.on_accepted is not None and len(self.messages) >= self.on_accepted:
            self.accepted.set()
        return reply


def gated(sink: SmtpSink) -> GatedHandler:
    """Swap the running sink's handler for a gated one (a new Controller, same port)."""
    handler = GatedHandler(messages=sink.messages)
    sink.stop()
    sink.handler = handler
    sink.start()
    return handler
