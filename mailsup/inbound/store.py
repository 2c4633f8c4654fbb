"""Store first, process later: every door calls ``store_raw`` and nothing else.

A door acknowledges a message (SMTP ``250``, IMAP MOVE, exit 0) only after
this function has committed the row, so a crash at any point loses nothing.
The content hash makes a second delivery of the same bytes a no-op.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32

from peewee import IntegrityError

from mailsup.clock import utcnow_naive
from mailsup.models import ImapState, InboundMessage, db
from mailsup.prepared import Prepared

log = logging.getLogger(__name__)

_headers = BytesHeaderParser(policy=compat32)


# Asked before every store (a door's cost before it acknowledges): its SQL built once.
_BY_HASH = Prepared(lambda digest: InboundMessage.select()
                    .where(InboundMessage.content_hash == digest).limit(1))


@dataclass(frozen=True)
class Stored:
    row: InboundMessage
    created: bool


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def header_message_id(raw: bytes) -> str | None:
    """The Message-ID, read from the header block only (cheap, never raises)."""
    try:
        value = _headers.parsebytes(raw[:65536]).get("Message-ID")
    except Exception:  # noqa: BLE001 - a broken header block still gets stored
        return None
    if not value:
        return None
    return " ".join(str(value).split())[:255] or None


def store_raw(raw: bytes, source: str, now: datetime, *, mailbox: str | None = None,
              uidvalidity: int | None = None, uid: int | None = None,
              envelope_from: str | None = None, envelope_to: list[str] | None = None,
              imap_state: tuple[str, int, int] | None = None) -> Stored:
    """Commit the raw message (and, for IMAP, the last UID) in one transaction."""
    digest = content_hash(raw)
    existing = _BY_HASH.first(digest)
    if existing is None:
        try:
            with db.atomic():
                row = InboundMessage.create(
                    received_at=utcnow_naive(now), source=source, mailbox=mailbox,
                    uidvalidity=uidvalidity, uid=uid, message_id=header_message_id(raw),
                    content_hash=digest, envelope_from=envelope_from,
                    envelope_to=",".join(envelope_to or []) or None, raw=raw,
                )
                if imap_state:
                    remember_uid(*imap_state)
            log.info("stored inbound %d from %s (%d bytes)", row.id, source, len(raw))
            return Stored(row, True)
        except IntegrityError:
            existing = InboundMessage.get(InboundMessage.content_hash == digest)
    if imap_state:
        with db.atomic():
            remember_uid(*imap_state)
    return Stored(existing, False)


def remember_uid(mailbox: str, uidvalidity: int, uid: int) -> None:
    state, _ = ImapState.get_or_create(mailbox=mailbox, uidvalidity=uidvalidity)
    if uid > state.last_uid:
        (ImapState.update(last_uid=uid)
         .where((ImapState.id == state.id) & (ImapState.last_uid < uid)).execute())


def last_uid(mailbox: str, uidvalidity: int) -> int:
    state = ImapState.get_or_none((ImapState.mailbox == mailbox)
                                  & (ImapState.uidvalidity == uidvalidity))
    return state.last_uid if state else 0
