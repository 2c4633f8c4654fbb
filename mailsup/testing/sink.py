"""An aiosmtpd relay that keeps what it accepts: the tests' and the demo's SMTP sink."""

from __future__ import annotations

from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    # Parsed once: tests read a header of every mail of a 500-developer day, and
    # each read used to parse the whole mail again. Callers only read it.
    _parsed: EmailMessage | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def message(self) -> EmailMessage:
        if self._parsed is None:
            self._parsed = message_from_bytes(self.data, policy=policy.default)
        return self._parsed

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
    """An aiosmtpd relay the tests can stop and start again (a relay outage).

    With ``users`` it offers AUTH and accepts only those logins (as a real
    submission port does); ``tls_context`` makes it offer STARTTLS.
    """

    def __init__(self, port: int, users: dict[str, str] | None = None, tls_context=None):
        self.port = port
        self.handler = SinkHandler()
        self.controller: Controller | None = None
        self.users = users
        self.tls_context = tls_context

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def start(self) -> SmtpSink:
        # A stopped Controller cannot be restarted: make a new one each time.
        options: dict = {}
        if self.users is not None:
            options |= {"authenticator": self._authenticate, "auth_require_tls": False}
        if self.tls_context is not None:
            options["tls_context"] = self.tls_context
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     **options)
        self.controller.start()
        return self

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode()
        ok = self.users is not None and self.users.get(login) == auth_data.password.decode()
        return AuthResult(success=ok, handled=False)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]

    def kinds(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]
