"""HR's reply to a digest: one command per line, applied, then confirmed."""

from __future__ import annotations

from datetime import date

from mailsup import tokens
from mailsup.inbound import autoreply
from mailsup.inbound.authenticate import may_act_as_hr
from mailsup.inbound.commands import REGISTRY, CommandContext, run, split_line
from mailsup.inbound.ctx import Ctx
from mailsup.inbound.reading import body, trim
from mailsup.inbound.reading.fields import is_greeting, is_pleasantry
from mailsup.models import Client, Effect
from mailsup.outbound import messages
from mailsup.outbound.links import Links

COMMAND_NAMES = {c.name for c in REGISTRY}


def command_lines(text: str, names: set[str] = frozenset()) -> list[str]:
    """Only what HR typed above the quoted digest (design §5: read leniently).

    Greetings before the commands are skipped; a sign-off ("Thanks,"), a lone
    name (``names``: the sender's, casefolded; or one or two capitalised words)
    and whatever follows them — the signature — end the commands. A line that
    starts with a command word is always a command, "Reviewed, thanks!" too.
    """
    top = trim.strip_signature(trim.trim(text, keep_interleaved=False))
    lines = []
    for line in (raw.strip() for raw in top.splitlines()):
        if not line:
            continue
        if split_line(line)[0] in COMMAND_NAMES:
            lines.append(line)
        elif is_pleasantry(line) or is_greeting(line) or _is_name(line, names, bool(lines)):
            if lines:
                break  # "Thanks,\nHana" after the commands: the signature starts
        else:
            lines.append(line)
    return lines


def _is_name(line: str, names: set[str], after_commands: bool) -> bool:
    bare = line.strip(" -–—,.!").casefold()
    if bare and bare in names:
        return True
    parts = line.strip(" -–—,.!").split()
    # Someone we do not know by name (management) signs with one or two capitalised words.
    return after_commands and 0 < len(parts) <= 2 and all(
        p[:1].isupper() and p.isalpha() for p in parts)


def sender_names(person) -> set[str]:
    if person is None:
        return set()
    name = person.name.casefold()
    return {name, name.split()[0], "".join(w[0] for w in name.split())}


def handle(ctx: Ctx) -> None:
    if ctx.verdict and ctx.verdict.kind != "person":
        ctx.settle("ignored", ctx.verdict.kind, ctx.verdict.reason)  # never answer robots
        return
    digest = Effect.get_or_none((Effect.id == ctx.identity.reference.ident)
                                & (Effect.kind == "hr_digest"))
    if digest is None:
        ctx.settle("refused", "hr_commands", "the token names no digest")
        return
    client = Client.get_by_id(digest.data["client"])
    if not may_act_as_hr(ctx.settings, ctx.identity, client):
        ctx.settle("refused", "hr_commands",
                   f"{ctx.identity.sender or '(no From)'} is not the HR worker of "
                   f"{client.slug} or management; commands not applied")
        return
    cctx = CommandContext(ctx.settings, ctx.now, client, ctx.identity.sender,
                          ctx.identity.person, list(digest.data.get("sup_ids", [])),
                          dict(digest.data.get("versions", {})))
    lines = command_lines(body.reply_text(ctx.msg), sender_names(ctx.identity.person))
    unknown = run(cctx, lines)
    autoreply.answer(
        ctx.settings, ctx.row, kind="command_results",
        message=messages.command_results(client, cctx.changes, cctx.errors, unknown,
                                         not lines, ctx.subject, Links.of(ctx.settings)),
        to=ctx.identity.sender, now=ctx.now, auto_submitted="auto-replied", own=True,
        # Replying to the confirmation works like replying to the digest.
        reply_to=tokens.address_for(ctx.settings, "d", digest.id,
                                     _day(digest)))
    status = "applied" if cctx.changes else "refused"
    ctx.settle(status, "hr_commands", *cctx.changes, *cctx.errors,
               *(f"unknown command: {line}" for line in unknown))


def _day(digest) -> date | None:
    """The digest's day, which its reply address carries (and expires by)."""
    try:
        return date.fromisoformat(str(digest.data.get("day")))
    except (TypeError, ValueError):
        return None
