"""The inbound pipeline: parse → dedupe → classify → authenticate → route.

Each step is a small function ``(ctx) -> None`` that may settle the message
(``ctx.settle``), which stops the pipeline; ``STEPS`` names them in order, and
the names are what the log shows. ``runner`` runs it for each stored row, in
one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage

from mailsup.inbound import authenticate, handlers
from mailsup.inbound import classify as classify_mod
from mailsup.inbound.ctx import Ctx, first_run
from mailsup.models import Effect, InboundMessage, Keys

log = logging.getLogger(__name__)


def parse(ctx: Ctx) -> None:
    try:
        ctx.msg = message_from_bytes(bytes(ctx.row.raw), policy=policy.default)
        broken = drop_broken_headers(ctx.msg)
    except Exception as exc:  # noqa: BLE001 - broken MIME is data, not a crash
        ctx.settle("quarantined", "unparsable", f"cannot parse message: {exc}")
        return
    if broken:
        ctx.reasons.append(f"unreadable header(s) ignored: {', '.join(sorted(set(broken)))}")


def drop_broken_headers(msg: EmailMessage) -> list[str]:
    """Headers are parsed lazily on access; find the ones that raise, and drop them.

    A From that cannot be parsed is then simply absent, which the later steps
    already treat as "unknown sender": refused and kept, never a crash.
    """
    broken = []
    for name, value in msg.raw_items():
        try:
            str(msg.policy.header_fetch_parse(name, value))
        except Exception:  # noqa: BLE001 - any parser failure means "unreadable"
            broken.append(name)
    for name in set(broken):
        del msg[name]
    return broken


def dedupe(ctx: Ctx) -> None:
    """The same mail through two doors (IMAP and SMTP) is applied once."""
    if not ctx.row.message_id:
        return
    twin = (InboundMessage.select(InboundMessage.id)
            .where((InboundMessage.message_id == ctx.row.message_id)
                   & (InboundMessage.id != ctx.row.id)
                   & (InboundMessage.status.in_(("applied", "refused", "ignored"))))
            .first())
    if twin is not None:
        ctx.settle("ignored", "duplicate", f"same Message-ID as inbound {twin.id}")


def classify(ctx: Ctx) -> None:
    ctx.verdict = classify_mod.classify(ctx.msg, ctx.row.envelope_from)
    if ctx.verdict.kind == "bounce":
        handlers.bounce.record_bounce(ctx)
    elif ctx.verdict.kind == "automatic":
        ctx.settle("ignored", "automatic", ctx.verdict.reason)


def identify(ctx: Ctx) -> None:
    ctx.identity = authenticate.identify(ctx.settings, ctx.msg, ctx.row.envelope_to)
    ok, why = authenticate.dmarc_ok(ctx.settings, ctx.msg)
    if not ok:
        ctx.settle("refused", "unauthenticated", f"DMARC required: {why}")


def route(ctx: Ctx) -> None:
    if not first_run(ctx.row) and \
            Effect.get_or_none(Effect.key == Keys.applied(ctx.row.id)) is not None:
        # `inbound retry --force` of a message whose effects already happened.
        ctx.settle("ignored", "already_applied", "this message was applied before; "
                   "its notes, flags and amendments are not repeated")
        return
    reference = ctx.identity.reference
    handler = handlers.ROUTES.get(reference.kind if reference else None,
                                  handlers.unreferenced.handle)
    handler(ctx)
    if ctx.status is None:
        ctx.settle("ignored", "unhandled", "no handler settled the message")


STEPS: tuple[tuple[str, Callable[[Ctx], None]], ...] = (
    ("parse", parse),
    ("dedupe", dedupe),
    ("classify", classify),
    ("authenticate", identify),
    ("route", route),
)


def run(ctx: Ctx) -> None:
    """Run the steps until one settles the message."""
    for name, step in STEPS:
        step(ctx)
        if ctx.status:
            log.debug("inbound %d settled at %s", ctx.row.id, name)
            return
