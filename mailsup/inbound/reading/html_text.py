"""HTML-only mail bodies to plain text that the trimmer can read.

Reading HTML replies means keeping what a plain-text client would show: quoted
originals as ``> `` lines, reply separators as separator lines, attributions and
header blocks on their own lines. Everything else (styles, scripts, Office XML)
is dropped. Only the standard library parser is used, which tolerates the
broken markup mail clients produce.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from mailsup.inbound.reading.trim import is_header_line

__all__ = ["SEPARATOR", "html_to_text"]

# What Outlook itself writes in plain text between a reply and the original.
SEPARATOR = "_" * 32
# Placed where a rule or a border-top box starts; it becomes SEPARATOR only when a
# "From:" style header follows, because people also draw rules in their own text.
_MAYBE_SEPARATOR = "\x00separator?"
_SIGNATURE_MARK = "-- "

_SKIP = frozenset({"script", "style", "head", "title", "template", "xml", "noscript"})
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt",
        "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
        "h6", "header", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody",
        "td", "tfoot", "th", "thead", "tr", "ul", "body", "html",
    }
)
_CELL = frozenset({"td", "th"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"}
)
# Containers clients put around the quoted original in place of a blockquote.
_ORIGINAL_IDS = frozenset(
    {"divrplyfwdmsg", "x_divrplyfwdmsg", "appendonsend", "x_appendonsend",
     "olk_src_body_section", "mail-editor-reference-message-container"}
)
_ORIGINAL_CLASSES = frozenset({"outlookmessageheader"})
_SIGNATURE_CLASSES = frozenset({"gmail_signature", "moz-signature"})
_SIGNATURE_IDS = frozenset({"signature", "x_signature", "divtagdefaultwrapper_signature"})
_BORDER_TOP = re.compile(r"border-top(?:-style)?\s*:\s*[^;]*solid", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
# Bidi and zero-width marks (Windows Mail sprinkles them through dates) only get in
# the way of the pattern matching downstream.
_INVISIBLE = str.maketrans("", "", "\u200b\u200c\u200d\u200e\u200f\ufeff")


class _Converter(HTMLParser):
    """Streams HTML into lines, remembering the blockquote depth of each line."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._buf: list[str] = []
        self._depth = 0
        self._skip = 0
        self._pre = 0
        self._stack: list[tuple[str, bool]] = []  # (tag, counts as a blockquote)

    # -- output helpers -------------------------------------------------------

    def _flush(self, force: bool = False) -> None:
        """End the current line; ``force`` keeps an empty one (a ``<br>``)."""
        text = "".join(self._buf)
        self._buf.clear()
        if self._pre:
            self.lines.extend((self._depth, part.rstrip()) for part in text.split("\n"))
            return
        line = text.strip(" \xa0")
        # An &nbsp;-only paragraph is how Word writes a blank line: keep it.
        if line or force or text.strip(" "):
            self.lines.append((self._depth, line))

    def _soft_break(self) -> None:
        """Block boundary: end the line if anything but layout whitespace is on it."""
        if "".join(self._buf).strip(" "):
            self._flush()
        else:
            self._buf.clear()

    def _mark(self, line: str) -> None:
        self._soft_break()
        self.lines.append((self._depth, line))

    # -- parser callbacks ------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
            return
        if self._skip:
            return
        if tag == "br":
            self._flush(force=True)
            return
        if tag == "hr":
            self._mark(_MAYBE_SEPARATOR)
            return
        attr = {k: (v or "") for k, v in attrs}
        is_quote = tag == "blockquote"
        if tag in _BLOCK or is_quote:
            self._soft_break()
        self._mark_container(attr)
        if tag == "pre":
            self._pre += 1
        if is_quote:
            self._depth += 1
        if tag not in _VOID:
            self._stack.append((tag, is_quote))
        if tag in _CELL:
            self._buf.append(" ")

    def _mark_container(self, attr: dict[str, str]) -> None:
        """Separator or signature line for the client-specific wrappers."""
        ident = attr.get("id", "").lower()
        classes = set(attr.get("class", "").lower().split())
        if ident in _ORIGINAL_IDS or classes & _ORIGINAL_CLASSES:
            if not self.lines or self.lines[-1][1] != SEPARATOR:
                self._mark(SEPARATOR)
        elif _BORDER_TOP.search(attr.get("style", "")):
            self._mark(_MAYBE_SEPARATOR)
        elif (
            classes & _SIGNATURE_CLASSES
            or ident in _SIGNATURE_IDS
            or attr.get("data-smartmail") == "gmail_signature"
        ):
            self._mark(_SIGNATURE_MARK)
        elif classes & {"gmail_quote", "moz-cite-prefix", "yahoo_quoted", "gmail_attr"}:
            self._soft_break()  # the attribution must start its own line

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
            return
        if self._skip or tag in _VOID:
            return
        if tag in _BLOCK:
            self._soft_break()
        # Pop to the matching open tag; mail HTML often leaves tags unclosed.
        for pos in range(len(self._stack) - 1, -1, -1):
            if self._stack[pos][0] == tag:
                for _, was_quote in self._stack[pos:]:
                    if was_quote:
                        self._soft_break()
                        self._depth -= 1
                del self._stack[pos:]
                break
        if tag == "pre":
            self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        data = data.translate(_INVISIBLE)
        self._buf.append(data if self._pre else _SPACES.sub(" ", data))

    def close(self) -> None:
        super().close()
        self._soft_break()


def _resolve_separators(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Keep a tentative separator only where a header block ("From: …") follows."""
    out: list[tuple[int, str]] = []
    for i, (depth, text) in enumerate(lines):
        if text != _MAYBE_SEPARATOR:
            out.append((depth, text))
            continue
        nxt = next((t for _, t in lines[i + 1 :] if t.strip() and t != _MAYBE_SEPARATOR), "")
        if is_header_line(nxt):
            if not out or out[-1][1] != SEPARATOR:
                out.append((depth, SEPARATOR))
        elif out and out[-1][1]:
            out.append((depth, ""))
    return out


def _render(lines: list[tuple[int, str]]) -> str:
    rendered: list[str] = []
    blanks = 0
    for depth, text in lines:
        line = ("> " * depth + text).rstrip() if depth else text
        if not line.strip(" \xa0>"):
            blanks += 1
            if blanks > 2:
                continue  # Word's stacked empty paragraphs carry no meaning
            line = ("> " * depth).rstrip()
        else:
            blanks = 0
        rendered.append(line.replace("\xa0", " "))
    return "\n".join(rendered).strip("\n")


def html_to_text(html: str) -> str:
    """Plain text of an HTML mail body, quote structure kept as ``> `` lines.

    Gmail/Apple/Thunderbird/Yahoo blockquotes become ``>`` (nested ``> >``); Outlook's
    reply wrappers (``#divRplyFwdMsg``, ``#appendonsend``, ``OLK_SRC_BODY_SECTION``,
    a border-top box or ``<hr>`` before "From:") become a ``____`` separator line;
    signature containers get a ``-- `` line so the trimmer can drop them.
    """
    parser = _Converter()
    parser.feed(html)
    parser.close()
    return _render(_resolve_separators(parser.lines))
