"""What the pipeline knows about one inbound message as it travels (a leaf: imports no step)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING

from mailsup.config import Settings
from mailsup.models import InboundMessage

if TYPE_CHECKING:
    from mailsup.inbound.authenticate import Identity
    from mailsup.inbound.classify import Verdict


def first_run(row: InboundMessage) -> bool:
    """Claimed for the first time (``runner.claim_row``; not a retry, not reaped after a
    crash): no answer or effect of it was ever committed, so none need be looked for."""
    return getattr(row, "first_run", False)


@dataclass
class Ctx:
    settings: Settings
    now: datetime
    row: InboundMessage
    msg: EmailMessage | None = None
    verdict: Verdict | None = None
    identity: Identity | None = None
    status: str | None = None  # applied | refused | ignored | quarantined
    kind: str | None = None
    reasons: list[str] = field(default_factory=list)
    sup_id: int | None = None
    unreadable: list[str] = field(default_factory=list)  # header names the parser refused
    # Shared by every message of one ``process_pending`` pass: what does not change
    # within a pass (a client, its repositories) is loaded once per pass, not per reply.
    memo: dict = field(default_factory=dict)

    def settle(self, status: str, kind: str, *reasons: str) -> None:
        """Decide the message's outcome; a settled message leaves the pipeline."""
        self.status, self.kind = status, kind
        self.reasons.extend(r for r in reasons if r)

    @property
    def subject(self) -> str:
        """The Subject the sender wrote, for answers that thread to it."""
        return str(self.msg.get("Subject", "")) if self.msg is not None else ""
