"""The inbound pipeline: parse → classify → authenticate → dedupe → route.

Each step is a small function ``(ctx) -> None`` that may settle the message
(``ctx.settle``), which stops the pipeline; ``STEPS`` names them in order, and
the names are what the log shows. ``runner`` runs it for each stored row, in
one transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy

from mailsup.inbound import authenticate, bounds, handlers
from mailsup.inbound import classify as classify_mod
from mailsup.inbound.ctx import Ctx, first_run
from mailsup.models import Effect, InboundMessage, Keys
from mailsup.prepared import Prepared

log = logging.getLogger(__name__)


class _Classes(HeaderRegistry):
    """The stdlib registry makes a new class for every header it parses (``type()`` per
    call); the class depends only on the header's name, so it is made once per name."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


_HEADER_CLASSES = _Classes()


class _ParsedOnce(EmailPolicy):
    """``policy.default``, except that a header value, once parsed, is kept.

    The stdlib parses a header again on every access (``msg["From"]``, each
    ``get_content_type``): a reply's steps ask for the same few headers dozens of
    times. Parsed headers are immutable, so one message (and its parts) can share
    them; each parsed message gets its own cache (``parse_policy``).
    """

    parsed: dict | None = None

    def header_fetch_parse(self, name, value):
        if self.parsed is None or hasattr(value, "name"):
            return super().header_fetch_parse(name, value)
        key = (name.lower(), value)
        found = self.parsed.get(key)
        if found is None:
            found = self.parsed[key] = super().header_fetch_parse(name, value)
        return found


def parse_policy() -> EmailPolicy:
    """The policy a stored message is parsed with: ``policy.default``, caching headers."""
    return _ParsedOnce(parsed={}, header_factory=_HEADER_CLASSES)


def parse(ctx: Ctx) -> None:
    raw = bytes(ctx.row.raw)
    too_costly = bounds.raw_problem(raw)
    if too_costly:
        ctx.settle("quarantined", "too_costly", f"not read: {too_costly}")
        return
    try:
        ctx.msg = message_from_bytes(raw, policy=parse_policy())
        too_costly = bounds.structure_problem(ctx.msg)
        if too_costly:
            ctx.settle("quarantined", "too_costly", f"not read: {too_costly}")
            return
        broken = drop_broken_headers(ctx.msg)
    except Exception as exc:  # noqa: BLE001 - broken MIME is data, not a crash
        ctx.settle("quarantined", "unparsable", f"cannot parse message: {exc}")
        return
    ctx.unreadable = broken
    ctx.row.__dict__["parsed_message"] = ctx.msg  # for the answer's loop check (autoreply)
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


_TWINS = Prepared(lambda message_id, row_id: (
    InboundMessage.select()
    .where((InboundMessage.message_id == message_id) & (InboundMessage.id != row_id)
           & (InboundMessage.status.in_(("applied", "refused", "ignored"))))
    .order_by(InboundMessage.id).limit(20)), arity=2)


def dedupe(ctx: Ctx) -> None:
    """The same mail through two doors (IMAP and SMTP) is applied once.

    Only a twin that was applied, or one that the same sender sent with the
    same reference and that authenticated like this one, counts: anyone can
    put the Message-ID a real reply will carry on a mail we refuse, and that
    refused twin must never shadow the genuine reply.
    """
    if not ctx.row.message_id:
        return
    for twin in _TWINS.rows(ctx.row.message_id, ctx.row.id):
        if twin.status == "applied" or _same_authenticated_sender(ctx, twin):
            ctx.settle("ignored", "duplicate", f"same Message-ID as inbound {twin.id}")
            return


def _same_authenticated_sender(ctx: Ctx, twin: InboundMessage) -> bool:
    if twin.kind in ("duplicate", "unauthenticated"):
        return False
    try:
        msg = message_from_bytes(bytes(twin.raw), policy=policy.default)
        drop_broken_headers(msg)
    except Exception:  # noqa: BLE001 - an unreadable twin proves nothing
        return False
    if authenticate.from_problem(msg, []):
        return False
    identity = authenticate.identify(ctx.settings, msg, twin.envelope_to)
    mine = ctx.identity
    return (identity.sender == mine.sender and identity.reference == mine.reference
            and authenticate.dmarc_ok(ctx.settings, msg, identity.sender)[0])


def classify(ctx: Ctx) -> None:
    ctx.verdict = classify_mod.classify(ctx.msg, ctx.row.envelope_from)
    if ctx.verdict.kind == "bounce":
        handlers.bounce.record_bounce(ctx)
    elif ctx.verdict.kind == "automatic":
        ctx.settle("ignored", "automatic", ctx.verdict.reason)


def identify(ctx: Ctx) -> None:
    ctx.identity = authenticate.identify(ctx.settings, ctx.msg, ctx.row.envelope_to)
    problem = authenticate.from_problem(ctx.msg, ctx.unreadable)
    if problem:
        ctx.settle("refused", "unauthenticated", problem)
        return
    ok, why = authenticate.dmarc_ok(ctx.settings, ctx.msg, ctx.identity.sender)
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
    closed = authenticate.closed_since(ctx.settings, reference, ctx.now)
    if closed is not None:
        handlers.sup.closed(ctx, closed)
        return
    handler = handlers.ROUTES.get(reference.kind if reference else None,
                                  handlers.unreferenced.handle)
    handler(ctx)
    if ctx.status is None:
        ctx.settle("ignored", "unhandled", "no handler settled the message")


STEPS: tuple[tuple[str, Callable[[Ctx], None]], ...] = (
    ("parse", parse),
    ("classify", classify),
    ("authenticate", identify),
    ("dedupe", dedupe),  # after authenticate: a twin counts only if it was believed too
    ("route", route),
)


def run(ctx: Ctx) -> None:
    """Run the steps until one settles the message, within the wall-clock budget."""
    budget = ctx.settings.inbound.message_seconds
    started = time.monotonic()
    for name, step in STEPS:
        step(ctx)
        spent = time.monotonic() - started
        if spent > budget:
            raise bounds.OverBudget(f"took {spent:.1f} s by the end of {name} "
                                    f"([inbound] message_seconds = {budget:g})")
        if ctx.status:
            log.debug("inbound %d settled at %s", ctx.row.id, name)
            return
