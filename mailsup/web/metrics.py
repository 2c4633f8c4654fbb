"""``/metrics`` in the Prometheus text format (``prometheus_client``).

Two kinds of figures. What this process did — ticks and their duration — is
counted as it happens (``observe_tick``, called by ``mailsup run``). What the
installation holds — mails by kind and outcome, inbound mail by outcome, the
outbox depth, answers held back, the last recorded tick of any worker — is
read from the database at scrape time, so every worker reports the same.
"""

from __future__ import annotations

import logging
from datetime import UTC

from peewee import fn
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from mailsup.models import Effect, InboundMessage, OutboundMessage, TickRun

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()
TICKS = Counter("mailsup_ticks", "Ticks run by this process, by result", ["result"],
                registry=REGISTRY)
TICK_SECONDS = Histogram("mailsup_tick_duration_seconds", "Duration of this process's ticks",
                         buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
                         registry=REGISTRY)


def observe_tick(seconds: float, ok: bool) -> None:
    TICKS.labels(result="ok" if ok else "error").inc()
    TICK_SECONDS.observe(seconds)


class StoreCollector:
    """Gauges read from the tables at scrape time (the same on every worker)."""

    def describe(self):
        return []  # registering must not query a database that may not be bound yet

    def collect(self):
        mails = GaugeMetricFamily("mailsup_outbound_messages",
                                  "Mails in the outbox by kind and outcome (status)",
                                  labels=["kind", "status"])
        for kind, status, count in (OutboundMessage
                                    .select(OutboundMessage.kind, OutboundMessage.status,
                                            fn.COUNT(OutboundMessage.id))
                                    .group_by(OutboundMessage.kind, OutboundMessage.status)
                                    .tuples()):
            mails.add_metric([kind, status], count)
        yield mails
        inbound = GaugeMetricFamily("mailsup_inbound_messages",
                                    "Inbound messages by outcome (status)", labels=["status"])
        for status, count in (InboundMessage.select(InboundMessage.status,
                                                    fn.COUNT(InboundMessage.id))
                              .group_by(InboundMessage.status).tuples()):
            inbound.add_metric([status], count)
        yield inbound
        depth = OutboundMessage.select().where(
            OutboundMessage.status.in_(("pending", "sending"))).count()
        yield GaugeMetricFamily("mailsup_outbox_depth", "Mails waiting to be sent", value=depth)
        held = Effect.select().where(Effect.kind == "suppressed").count()
        yield GaugeMetricFamily("mailsup_suppressed_answers",
                                "Answers not sent because the address's budget was spent",
                                value=held)
        yield from self._last_tick()

    def _last_tick(self):
        last = TickRun.select().order_by(TickRun.id.desc()).first()
        if last is None:
            return
        yield GaugeMetricFamily("mailsup_last_tick_timestamp_seconds",
                                "When the last recorded tick (any worker) started",
                                value=last.started_at.replace(tzinfo=UTC).timestamp())
        yield GaugeMetricFamily("mailsup_last_tick_duration_seconds",
                                "Duration of the last recorded tick (any worker)",
                                value=last.duration_ms / 1000)


REGISTRY.register(StoreCollector())


def exposition() -> bytes:
    return generate_latest(REGISTRY)
