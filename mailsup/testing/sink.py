"""An aiosmtpd relay that keeps what it accepts: the tests' and the demo's SMTP sink."""

from __future__ import annotations

from dataclasses import dataclass, field
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self):
        return message_from_bytes(self.data, policy=policy.default)

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()

    def __getitem__(self, header: str):
        return self.message[header]


@dataclass
class SinkHandler:
    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      envelope.original_content or envelope.content))
        return "250 OK"


class SmtpSink:
    """An aiosmtpd relay the tests can stop and start again (a relay outage)."""

    def __init__(self, port: int):
        self.port = port
        self.handler = SinkHandler()
        self.controller: Controller | None = None

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def start(self) -> SmtpSink:
        # A stopped Controller cannot be restarted: make a new one each time.
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]

    def kinds(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]
