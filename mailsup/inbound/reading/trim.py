"""Cut quoted originals, client header blocks and signatures out of a reply body.

The result is the text the person actually wrote. The approach is line based:
every line gets a one-letter kind, then a single forward pass over the kinds
decides what to keep. Kinds:

    E empty            Q quoted (``>``, ``C>``)      T text
    B attribution      ("On … wrote:", may span up to five physical lines)
    H / h              first / following line of a client header block (From:/Sent:/…)
    D hard delimiter   ("-----Original Message-----", "______", "***", …)
    G "-- " signature separator
    S mobile footer    ("Sent from my iPhone", "Get Outlook for iOS", …)

Semantics follow the Discourse email_reply_trimmer fixtures where they speak:
quote+text interleaving is kept, a quote at the very top followed only by new
text keeps just the new text, a forward at the very top keeps the forwarded
body. mailsup additionally relies on answers typed under quoted headings
surviving, which ``keep_interleaved=True`` (the default) guarantees even when
the answers are short.
"""

from __future__ import annotations

import re

__all__ = ["is_header_line", "split", "strip_signature", "trim"]

# --------------------------------------------------------------------------
# Vocabulary. Kept as data so adding a client or a language is a one-line change.

_WROTE_LATIN = (
    r"wrote|writes|has written|a écrit|a ecrit|schrieb|hat geschrieben|escribió|escribio"
    r"|escreveu|ha scritto|scrisse|schreef|het volgende geschreven|skrev|skrivit|kirjoitti"
    r"|napisał\(a\)|napisał|napisala|napsal\(a\)|napsal|napísal|napisao je|napisal"
    r"|написал\(а\)|написал|написала|написав|пише|писал|a scris|írta|έγραψε|yazdı"
    r"|skrifaði|rašė|rakstīja|kirjutas"
)
_WROTE_CJK = r"写道|寫道|のメッセージ|書きました|작성"
# Verbs that may sit mid-line ("Am … schrieb Name <mail>:", "Name <mail> schrieb am …:").
_WROTE_MID = r"schrieb|skrev|schreef|escribió|escreveu|a écrit|ha scritto|wrote on|написал|napisał"

_DATE = (
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    r"|(?:\w{2,12}\.?,?\s+)?\d{1,2}\.?\s+\w{3,12}\.?,?\s+\d{4}"
    r"|\w{3,9},?\s+\w{3,9}\.?\s+\d{1,2},?\s+\d{4}"
)

_FROM_KEYS = (
    "from|von|van|de|da|från|fra|от|від|od|lähettäjä|feladó|kimden|expéditeur|remitente"
    "|mittente|afzender|avsändare|avsender|nadawca|odesílatel|absender|发件人|寄件者|差出人"
    "|보낸 사람"
)
_OTHER_KEYS = (
    "sent|date|to|cc|bcc|subject|reply-to|gesendet|datum|an|betreff|antwort an|envoyé|à"
    "|objet|répondre à|enviado|fecha|para|asunto|responder a|inviato|data|a|oggetto"
    "|risposta|rispondi a|verzonden|aan|onderwerp|beantwoorden|skickat|till|ämne|svara till"
    "|sendt|til|emne|отправлено|дата|кому|копия|тема|надіслано|wysłano|do|temat|dw"
    "|odesláno|komu|předmět|lähetetty|vastaanottaja|aihe|elküldve|címzett|tárgy|tarih"
    "|kime|konu|gönderildi|发送时间|日期|收件人|主题|抄送|日時|宛先|件名"
)

_ORIGINAL_WORDS = (
    "original message|forwarded message|ursprüngliche nachricht|weitergeleitete nachricht"
    "|mensaje original|mensaje reenviado|message d'origine|message transféré|message original"
    "|messaggio originale|messaggio inoltrato|oorspronkelijk bericht|doorgestuurd bericht"
    "|mensagem original|mensagem encaminhada|ursprungligt meddelande"
    "|vidarebefordrat meddelande|opprinnelig melding|videresendt melding"
    "|oprindelig meddelelse|videresendt meddelelse|alkuperäinen viesti|välitetty viesti"
    "|oryginalna wiadomość|wiadomość przekazana|původní zpráva|přeposlaná zpráva"
    "|исходное сообщение|пересылаемое сообщение|оригинальное сообщение"
    "|переслане повідомлення|原始邮件|原始郵件|転送メッセージ"
)
_FORWARD_INTROS = (
    "begin forwarded message|anfang der weitergeleiteten nachricht"
    "|début du message réexpédié|inicio del mensaje reenviado"
    "|início da mensagem reencaminhada|vidarebefordrat brev"
)

_MOBILE_APPS = (
    r"mail|mailbox|outlook|mobile|phone|iphone|ipad|ipod|android|blackberry|galaxy|samsung"
    r"|tablet|device|cell|watch|airmail|spark|newton|proton|fastmail"
)
_SIGNATURES = (
    rf"[(<]*\s*sent\s+(?:from|with|via|by|using|on)\s+(?:my\s+\S.{{0,100}}"
    rf"|(?:.{{0,60}}\W)?(?:{_MOBILE_APPS})\b.{{0,100}})"
    r"|(?:envoyé|envoye)\s+(?:depuis|de)\s+(?:mon|ma)\s+.{1,60}"
    r"|enviado\s+(?:desde|de|do|com)\s+.{1,60}"
    r"|(?:von|vom)\s+meinem\s+.{1,60}\s+gesendet\.?"
    r"|gesendet\s+(?:von|mit)\s+.{1,60}"
    r"|diese nachricht wurde von meinem .{1,80} gesendet\.?"
    r"|(?:verzonden|verstuurd)\s+(?:met|vanaf|van|via)\s+.{1,60}"
    r"|inviato\s+da\s+.{1,60}"
    r"|wysłane\s+z\s+.{1,60}"
    r"|отправлено\s+(?:с|из)\s+.{1,60}"
    r"|(?:sendt|skickat)\s+(?:fra|från)\s+.{1,60}"
    r"|lähetetty\s+\S+sta"
    r"|odesláno\s+z\s+.{1,60}"
    r"|從我的\s?\S+\s?傳送|从我的\s?\S+\s?发送|\S+から送信"
    r"|get\s+\[?outlook\s+for\s+(?:ios|android).*"
    r"|(?:\S+\s+){0,2}from\s+(?:my\s+)?(?:mobile|phone|iphone|ipad|android)(?:\s+\S+)?"
)

# --------------------------------------------------------------------------
# Compiled patterns (module level: trimming runs per inbound mail and must be cheap).

_QUOTE = re.compile(r"[ \t]*(?:[A-Z]{1,3})?>")
_FENCE = re.compile(r"\s*(?:```|~~~)")
_PUNCT_RUN = re.compile(r"\s*(?:[-_=~*#+—–]\s*){3,}$|\s*ᐧ\s*$")
_ORIGINAL = re.compile(
    rf"[\s*_]*(?:[-=_]{{2,}}\s*(?:{_ORIGINAL_WORDS})\s*[-=_]*"
    rf"|(?:{_FORWARD_INTROS})\s*:)[\s*_]*$",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(rf"\s*(?:{_SIGNATURES})\s*[)>]*\s*$", re.IGNORECASE)
_HEADER = re.compile(
    rf"\s*[*_]{{0,2}}(?:(?P<from>{_FROM_KEYS})|{_OTHER_KEYS})"
    r"\s*(?:[*_]{1,2}\s*[:：]|[:：])",
    re.IGNORECASE,
)
# Evidence that a would-be attribution names a date, time or address.
_EVIDENCE = re.compile(r"@|\d{1,2}:\d{2}|\b\d{4}\b|\d{1,2}[./]\d{1,2}[./]\d{2,4}")
_WROTE_END = re.compile(
    rf"[\s>\-*]*\S.{{0,300}}?(?:\s(?:{_WROTE_LATIN})|\s?(?:{_WROTE_CJK}))"
    r"\s*(?:[:：]\s*-*|-{2,})\s*$",
    re.IGNORECASE,
)
_WROTE_MID_RE = re.compile(
    rf"[\s>\-*]*\S.{{0,200}}?\s(?:{_WROTE_MID})\s.{{1,250}}[:：]\s*$", re.IGNORECASE
)
_DATE_GMT = re.compile(
    r"[\s>]*\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?\s*(?:GMT|UTC)[+-]\d"
)
_DATE_START = re.compile(rf"[\s>]*(?:{_DATE})")
# Searched, not matched: "[^<>\s]" cannot run past the next "<", which keeps it linear.
_ADDRESS_END = re.compile(r"<[^<>\s]*@[^<>\s]*>+\s*[:：]?\s*$")
# How an attribution that a mail client wrapped over several lines may begin.
_ATTRIBUTION_START = re.compile(
    r"[\s\-*]*(?:(?:On|Le|Am|El|Em|Il|Op|Den|Dnia|W dniu|Dne|Dňa|Às|No dia|Na|В|У|Στις"
    r"|Pada|Vào|På|At)\s|在|\d|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\w*,)"
)
_MAX_JOIN = 4  # lines looked back when an attribution ends on a later line
_MAX_ATTRIBUTION = 600  # longer "lines" are prose; also bounds regex backtracking
_SPACE_AFTER_LT = re.compile(r"<\s+")
_SPACE_BEFORE_GT = re.compile(r"\s+>")


# --------------------------------------------------------------------------
# Line classification


def is_header_line(line: str) -> bool:
    """True for a line such as ``From: …`` / ``*Sent:* …`` / ``Von: …`` (any language).

    Exposed so the HTML converter can tell an Outlook separator from decoration.
    """
    return _HEADER.match(line) is not None


def _is_attribution(line: str) -> bool:
    """Whether one (possibly joined) line is an "On <date>, <who> wrote:" marker."""
    s = line.rstrip()
    if not s or len(s) > _MAX_ATTRIBUTION:
        return False
    if s[-1] in ":：-":
        # A bare "… wrote:" is prose; real markers carry a date, time or address.
        if _WROTE_END.match(s) and _EVIDENCE.search(s):
            return True
        if "@" in s and _WROTE_MID_RE.match(s):
            return True
    if s[-1] in ">:：" and _DATE_START.match(s) and _ADDRESS_END.search(s):
        return True
    return s.lstrip(" >")[:1].isdigit() and _DATE_GMT.match(s) is not None


def _is_quoted_attribution(line: str) -> bool:
    return _is_attribution(line.lstrip(" \t>"))


def _classify_one(line: str) -> str:
    stripped = line.strip()
    if not stripped:
        return "E"
    if _QUOTE.match(line):
        return "Q"
    if stripped == "--":
        return "G"
    if _PUNCT_RUN.match(line) or _ORIGINAL.match(line):
        return "D"
    if _SIGNATURE.match(line):
        return "S"
    if _is_attribution(stripped):
        return "B"
    if _HEADER.match(line):
        return "H"
    return "T"


def _join_attribution(lines: list[str], kinds: list[str], end: int, complete: bool) -> int:
    """Start index of a wrapped attribution ending at ``end``, or -1.

    Clients wrap "On <date>, <name> <\\n<address>> wrote:" over several lines. The
    nearest line that can open an attribution wins, so a line of the sender's text just
    above a marker is never swallowed. ``complete``: line ``end`` is a marker on its own
    already, so only a clear attribution opening may extend it upwards.
    """
    for k in range(1, _MAX_JOIN + 1):
        start = end - k
        if start < 0 or kinds[start] not in "TE":
            break
        if complete and kinds[start] == "E":
            break  # a whole marker never reaches over a blank line ("Em andamento: …")
        if kinds[start] == "T" and _ATTRIBUTION_START.match(lines[start]):
            if _is_attribution(_joined(lines, start, end)):
                return start
    start = end - 1
    if not complete and start >= 0 and kinds[start] == "T" and "@" in lines[start]:
        if _is_attribution(_joined(lines, start, end)):
            return start
    return -1


def _joined(lines: list[str], start: int, end: int) -> str:
    text = " ".join(p for p in (ln.strip() for ln in lines[start : end + 1]) if p)
    return _SPACE_BEFORE_GT.sub(">", _SPACE_AFTER_LT.sub("<", text))


def _classify(lines: list[str]) -> list[str]:
    kinds: list[str] = []
    in_fence = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            kinds.append("T")
            continue
        if in_fence:
            kinds.append("E" if not line.strip() else "T")
            continue
        kind = _classify_one(line)
        if kind in "TQHB" and line.rstrip()[-1:] in (":", "：", ">"):
            start = _join_attribution(lines, kinds, i, kind == "B")
            if start >= 0:
                kinds[start:i] = ["B"] * (i - start)
                kind = "B"
        kinds.append(kind)
    _resolve_header_blocks(kinds, lines)
    return kinds


def _resolve_header_blocks(kinds: list[str], lines: list[str]) -> None:
    """Turn runs of header-looking lines into H,h,h… or back into text.

    A block needs two header lines and a sender key; a single "A: yes" or "Date: Monday"
    in someone's reply is prose. One non-header line between headers is a folded value
    ("Subject: long\\n  continued").
    """
    n = len(kinds)
    i = 0
    while i < n:
        if kinds[i] != "H":
            i += 1
            continue
        j, headers, has_from, last_header = i, 0, False, i
        while j < n:
            if kinds[j] == "H":
                headers += 1
                m = _HEADER.match(lines[j])
                has_from = has_from or bool(m and m.group("from"))
                last_header = j
            elif kinds[j] != "T" or j - last_header > 1:
                break
            j += 1
        end = last_header + 1
        if headers >= 2 and has_from:
            kinds[i] = "H"
            kinds[i + 1 : end] = ["h"] * (end - i - 1)
        else:
            for x in range(i, end):
                if kinds[x] == "H":
                    kinds[x] = "T"
        i = end


# --------------------------------------------------------------------------
# Deciding what to keep


def _skip(kinds: list[str], i: int, skippable: str) -> int:
    n = len(kinds)
    while i < n and kinds[i] in skippable:
        i += 1
    return i


def _boundary_end(kinds: list[str], i: int) -> int:
    """Index after the attribution / delimiter / header block starting at ``i``."""
    kind = kinds[i]
    if kind == "B":
        return _skip(kinds, i, "B")
    if kind == "H":
        return _skip(kinds, i + 1, "h")
    end = i + 1  # a delimiter, usually followed by the forwarded headers
    after = _skip(kinds, end, "E")
    if after < len(kinds) and kinds[after] == "H":
        return _skip(kinds, after + 1, "h")
    return end


def _skip_leading_boundaries(kinds: list[str]) -> int:
    """Where new text starts when the mail opens with an attribution or a forward.

    "On … wrote:" + quote + text is a reply typed at the bottom: the quote goes. If the
    quote is interleaved with text further down, those are inline answers: it stays.
    """
    n = len(kinds)
    i = _skip(kinds, 0, "E")
    while i < n and kinds[i] in "BDH":
        i = _skip(kinds, _boundary_end(kinds, i), "E")
        if i < n and kinds[i] == "Q":
            quote_end = _skip(kinds, i, "QE")
            if "Q" not in kinds[quote_end:]:
                i = quote_end
    return i


def _is_interleaved(kinds: list[str], i: int) -> bool:
    """An attribution followed by a quote and then more of the sender's own text."""
    j = _skip(kinds, _skip(kinds, i, "B"), "E")
    if j >= len(kinds) or kinds[j] != "Q":
        return False
    j = _skip(kinds, j, "QE")
    return j < len(kinds) and kinds[j] == "T"


def _plan(kinds: list[str], keep_interleaved: bool) -> list[bool]:
    n = len(kinds)
    keep = [False] * n
    i = _skip_leading_boundaries(kinds)
    while i < n:
        kind = kinds[i]
        if kind in "TE" or (kind == "Q" and keep_interleaved):
            keep[i] = True
        elif kind == "G":
            # A signature runs until the quoted original; answers may follow that.
            i = _skip(kinds, i + 1, "TEGSDHh")
            continue
        elif kind == "B":
            if not (keep_interleaved and _is_interleaved(kinds, i)):
                break
            i = _skip(kinds, i, "B")
            continue
        elif kind in "DHh":
            break
        i += 1
    _drop_trailing_quote(kinds, keep)
    return keep


def _drop_trailing_quote(kinds: list[str], keep: list[bool]) -> None:
    """The last quote block of a reply is the original, not something said."""
    j = len(keep) - 1
    while j >= 0 and (not keep[j] or kinds[j] in "QE"):
        j -= 1
    for x in range(j + 1, len(keep)):
        keep[x] = False


# --------------------------------------------------------------------------
# Public API


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _render(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n").rstrip()


def split(text: str, keep_interleaved: bool = True) -> tuple[str, str]:
    """Return ``(kept, elided)``: what the sender wrote, and everything cut away."""
    if not text or not text.strip():
        return "", ""
    lines = _lines(text)
    kinds = _classify(lines)
    keep = _plan(kinds, keep_interleaved)
    if not any(k and kinds[i] != "E" for i, k in enumerate(keep)):
        keep = _quote_only_fallback(lines, kinds, keep_interleaved)
    kept = _render([ln for ln, k in zip(lines, keep, strict=True) if k])
    elided = _render([ln for ln, k in zip(lines, keep, strict=True) if not k])
    return kept, elided


def _quote_only_fallback(lines: list[str], kinds: list[str], keep_interleaved: bool) -> list[bool]:
    """A mail that is nothing but a quote: keep it, unless it is a quoted thread.

    Someone may forward a snippet with ``>``; a quote that opens with "On … wrote:" is
    just the previous conversation with nothing added.
    """
    nonempty = [i for i, k in enumerate(kinds) if k != "E"]
    keep = [False] * len(lines)
    if not keep_interleaved or not nonempty or any(kinds[i] != "Q" for i in nonempty):
        return keep
    if _is_quoted_attribution(lines[nonempty[0]]):
        return keep
    return [k != "E" or nonempty[0] < i < nonempty[-1] for i, k in enumerate(kinds)]


def trim(text: str, keep_interleaved: bool = True) -> str:
    """The new text of a reply: quoted original, client headers and signatures removed.

    ``keep_interleaved=True`` (default, Discourse semantics) keeps quote lines that have
    the sender's text between or after them, so inline answers under quoted headings
    survive with their headings. ``False`` keeps only text outside any quote, cut at the
    first attribution.
    """
    return split(text, keep_interleaved)[0]


def strip_signature(text: str) -> str:
    """Remove a ``-- `` signature block and mobile footers; quotes are left alone."""
    out: list[str] = []
    in_signature = False
    for line in _lines(text):
        if line.strip() == "--":
            in_signature = True
        elif in_signature and _QUOTE.match(line):
            in_signature = False  # the quoted original follows the signature
        if not in_signature and not _SIGNATURE.match(line):
            out.append(line)
    return _render(out)
