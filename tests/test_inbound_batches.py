"""The runner's batches: few statements per reply, and a pass that stops hands its batch back.

Real replies to real SUP mails (the inbound benchmark's), on SQLite; statements
counted with SQLite's own trace hook, so none escapes the count.
"""

from __future__ import annotations

import pytest
from peewee import OperationalError

from benchmarks import inbound_bench
from benchmarks.tick_bench import NOW, populate, workspace
from mailsup.inbound import runner
from mailsup.jobs.tick import tick
from mailsup.models import InboundMessage

REPLIES = 45  # more than two batches (runner.CANDIDATES), so the figure includes batch edges
MOST_STATEMENTS_PER_REPLY = 8  # issue 15


def test_a_reply_is_applied_and_answered_in_at_most_eight_statements() -> None:
    with workspace() as ws:
        populate(REPLIES)
        tick(ws.settings, NOW, send=False)
        inbound_bench.store_all(inbound_bench.build_replies())
        with inbound_bench.counting_statements() as statements:
            done = runner.process_pending(ws.settings, inbound_bench.REPLY_AT)
        inbound_bench.verify(REPLIES)  # every one applied, each with its receipt
    per_reply = len(statements) / len(done)
    print(f"\ninbound: {per_reply:.2f} statements per reply over {len(done)} replies")
    assert len(done) == REPLIES
    assert per_reply <= MOST_STATEMENTS_PER_REPLY, "\n".join(statements[:40])


def test_a_pass_stopped_by_the_database_hands_its_claimed_rows_back(monkeypatch) -> None:
    """A batch is claimed in one statement; when a reply's transaction fails on the
    database (not on the message), the rows the pass had not reached are new again
    at once, not after the 10-minute lease, and none is lost or applied twice."""
    with workspace() as ws:
        populate(5)
        tick(ws.settings, NOW, send=False)
        inbound_bench.store_all(inbound_bench.build_replies())
        real_process, calls = runner.process, []

        def database_gone_at_the_third(settings, row, now, memo=None):
            calls.append(row.id)
            if len(calls) == 3:
                (InboundMessage.update(status="new")
                 .where(InboundMessage.id == row.id).execute())  # as process() hands it back
                raise OperationalError("disk I/O error")
            return real_process(settings, row, now, memo)

        monkeypatch.setattr(runner, "process", database_gone_at_the_third)
        with pytest.raises(OperationalError):
            runner.process_pending(ws.settings, inbound_bench.REPLY_AT)
        statuses = [r.status for r in InboundMessage.select().order_by(InboundMessage.id)]
        assert statuses == ["applied", "applied", "new", "new", "new"]
        monkeypatch.setattr(runner, "process", real_process)
        done = runner.process_pending(ws.settings, inbound_bench.REPLY_AT)
        assert [ctx.status for ctx in done] == ["applied"] * 3
        inbound_bench.verify(5)  # five applied, five receipts: none twice
