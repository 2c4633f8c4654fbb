"""Replies to a real SUP mail in the shapes three mail clients give them.

Each builder takes the SUP mail as the relay received it and what the person
typed (lines at the top, and lines typed under quoted headings) and returns
the raw reply: Gmail (text + HTML, ``>`` quoting, ``On … wrote:``), Outlook
HTML-only (no quoting: a From/Sent header block, then the original as shown)
and Apple Mail (format=flowed text + HTML with ``blockquote type=cite``).
"""

from __future__ import annotations

import functools
import html as html_mod
import itertools
from email.message import EmailMessage
from email.utils import format_datetime

from mailsup.testing import at

ALICE = "Alice Smith <alice@example.com>"
_IDS = itertools.count(1)


def _mail(original) -> EmailMessage:
    return original.message if hasattr(original, "message") else original


def _sent(original) -> tuple[str, str, EmailMessage]:
    return _parts(_mail(original))


@functools.lru_cache(maxsize=16)  # a sweep replies hundreds of times to one mail
def _parts(mail: EmailMessage) -> tuple[str, str, EmailMessage]:
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    body = html[html.index("<body"):html.index("</body>")]
    return text, body[body.index(">") + 1:], mail


def _headers(mail: EmailMessage, sender: str) -> EmailMessage:
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = mail["Reply-To"].addresses[0].addr_spec
    reply["Subject"] = f"Re: {mail['Subject']}"
    reply["Date"] = format_datetime(at("2026-11-25T07:00"))
    reply["Message-ID"] = f"<shape-{next(_IDS)}@client.example>"
    reply["In-Reply-To"] = mail["Message-ID"]
    reply["References"] = mail["Message-ID"]
    return reply


def _quoted(text: str, inline: dict[str, list[str]], edits: dict[str, str],
            prefix: str = "> ") -> str:
    """The sent text quoted, with unquoted answers typed under the given headings.

    ``edits``: sent lines the person changed in the quote ("[ ] api#130" → "[x] api#130").
    """
    out = []
    for line in text.split("\n"):
        line = next((line.replace(old, new) for old, new in edits.items() if old in line), line)
        out.append(prefix + line if line else prefix.rstrip())
        if line.strip() in inline:
            out.extend(["", *inline[line.strip()], ""])
    return "\n".join(out)


def _html_inline(body: str, inline: dict[str, list[str]], wrap: str,
                 edits: dict[str, str]) -> str:
    for old, new in edits.items():
        body = body.replace(html_mod.escape(old, quote=False), html_mod.escape(new, quote=False))
    for heading, lines in inline.items():
        typed = "".join(wrap.format(html_mod.escape(line)) for line in lines)
        body = body.replace(f"{html_mod.escape(heading)}</p>", f"{html_mod.escape(heading)}</p>"
                            f"{typed}", 1)
    return body


def gmail(original, top: str = "", inline: dict[str, list[str]] | None = None,
          sender: str = ALICE, edits: dict[str, str] | None = None) -> bytes:
    text, body, mail = _sent(original)
    inline = inline or {}
    address = mail["Reply-To"].addresses[0].addr_spec
    plain = (f"{top}\n\nOn Wed, 25 Nov 2026 at 06:00, mailsup <{address}>\nwrote:\n\n"
             f"{_quoted(text, inline, edits or {})}\n")
    typed = "".join(f"<div>{html_mod.escape(line) or '<br>'}</div>" for line in top.split("\n"))
    html = (f'<div dir="ltr">{typed}</div><br><div class="gmail_quote"><div dir="ltr" '
            f'class="gmail_attr">On Wed, 25 Nov 2026 at 06:00, mailsup &lt;{address}&gt; '
            f'wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px '
            f'0.8ex">{_html_inline(body, inline, "<div>{}</div>", edits or {})}</blockquote></div>')
    reply = _headers(mail, sender)
    reply.set_content(plain)
    reply.add_alternative(html, subtype="html")
    return reply.as_bytes()


def outlook_html(original, top: str = "", inline: dict[str, list[str]] | None = None,
                 sender: str = ALICE, edits: dict[str, str] | None = None) -> bytes:
    _, body, mail = _sent(original)
    address = mail["Reply-To"].addresses[0].addr_spec
    typed = "".join(f'<p class="MsoNormal">{html_mod.escape(line) or "&nbsp;"}</p>'
                    for line in top.split("\n"))
    original_html = _html_inline(body, inline or {},
                                 '<p class="MsoNormal" style="color:#1F497D">{}</p>', edits or {})
    html = ('<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><style>'
            'p.MsoNormal{margin:0}</style></head><body><div class="WordSection1">'
            f'{typed}<div id="Signature"><p class="MsoNormal">Alice Smith</p>'
            '<p class="MsoNormal">Senior Engineer | Acme Corp</p></div>'
            '<hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg" dir="ltr">'
            f"<b>From:</b> mailsup &lt;{address}&gt;<br><b>Sent:</b> Wednesday, November 25, "
            f"2026 6:00 AM<br><b>To:</b> Alice Smith &lt;alice@example.com&gt;<br>"
            f"<b>Subject:</b> {html_mod.escape(str(mail['Subject']))}</div>"
            f"<div>{original_html}</div></div></body></html>")
    reply = _headers(mail, sender)
    reply.set_content(html, subtype="html")
    return reply.as_bytes()


def apple_mail(original, top: str = "", inline: dict[str, list[str]] | None = None,
               sender: str = ALICE, edits: dict[str, str] | None = None) -> bytes:
    text, body, mail = _sent(original)
    inline = inline or {}
    address = mail["Reply-To"].addresses[0].addr_spec
    attribution = f"On 25 Nov 2026, at 06:00, mailsup <{address}> wrote:"
    plain = f"{top}\n\n{attribution}\n\n{_quoted(text, inline, edits or {})}\n"
    typed = "".join(f"<div>{html_mod.escape(line) or '<br>'}</div>" for line in top.split("\n"))
    html = ('<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8">'
            f'</head><body dir="auto">{typed}<div dir="ltr"><br><blockquote type="cite">'
            f"{html_mod.escape(attribution)}</blockquote></div><blockquote type=\"cite\">"
            f'<div dir="ltr">{_html_inline(body, inline, "<div>{}</div>", edits or {})}</div>'
            "</blockquote>"
            "</body></html>")
    reply = _headers(mail, sender)
    reply.set_content(plain)
    reply.add_alternative(html, subtype="html")
    plain_part = reply.get_body(("plain",))
    plain_part.set_param("format", "flowed")
    plain_part.set_param("delsp", "no")
    return reply.as_bytes()


SHAPES = {"gmail": gmail, "outlook_html": outlook_html, "apple_mail": apple_mail}
