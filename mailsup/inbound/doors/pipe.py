"""The CLI door: ``mailsup inbound deliver FILE…|-`` for files and MTA pipes.

Exit codes follow sysexits, which Postfix's pipe transport understands:
0 stored (whatever the outcome of processing), 75 (EX_TEMPFAIL) when the
store is unavailable, so the MTA keeps the mail and retries.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from peewee import InterfaceError, OperationalError

from mailsup.config import Settings
from mailsup.database import retry_busy
from mailsup.inbound import runner
from mailsup.inbound.store import store_raw

log = logging.getLogger(__name__)

EX_OK = 0
EX_DATAERR = 65
EX_NOINPUT = 66
EX_TEMPFAIL = 75


@dataclass
class Delivered:
    source: str
    inbound_id: int | None
    created: bool
    status: str
    kind: str | None
    reasons: list[str]

    def line(self) -> str:
        if self.inbound_id is None:
            return f"{self.source}: {self.status}: {'; '.join(self.reasons)}"
        again = "" if self.created else " (already stored)"
        why = f": {'; '.join(self.reasons)}" if self.reasons else ""
        return f"{self.source}: inbound {self.inbound_id}{again} {self.status} ({self.kind}){why}"


def read_inputs(names: list[str]) -> list[tuple[str, bytes | None, str]]:
    items = []
    for name in names:
        if name == "-":
            items.append(("stdin", sys.stdin.buffer.read(), ""))
            continue
        try:
            items.append((name, Path(name).read_bytes(), ""))
        except OSError as exc:
            items.append((name, None, exc.strerror or str(exc)))
    return items


def deliver(settings: Settings, names: list[str], now: datetime,
            envelope_from: str | None = None, envelope_to: list[str] | None = None
            ) -> tuple[int, list[Delivered]]:
    results, code = [], EX_OK
    for source, raw, error in read_inputs(names):
        if raw is None:
            results.append(Delivered(source, None, False, "unreadable", None, [error]))
            code = max(code, EX_NOINPUT)
            continue
        if not raw.strip():
            results.append(Delivered(source, None, False, "empty", None, ["no message data"]))
            code = max(code, EX_DATAERR)
            continue
        stored = retry_busy(store_raw, raw, "cli", now, envelope_from=envelope_from,
                            envelope_to=envelope_to)
        row = stored.row
        try:
            claimed = retry_busy(runner.claim_row, row.id, now)
            if claimed is not None:
                row = runner.process(settings, claimed, now).row
        except (OperationalError, InterfaceError) as exc:
            # Stored is stored (exit 0: the MTA must not send it again); the
            # next pass of `mailsup run` or `tick` processes it.
            results.append(Delivered(source, row.id, stored.created, "new", None,
                                     [f"stored; processing waits for the database ({exc})"]))
            continue
        results.append(Delivered(source, row.id, stored.created, row.status, row.kind,
                                 list(row.reasons or [])))
    return code, results
