"""Read absence dates the way people and out-of-office robots write them.

Commands a person types (to the bare address or in any reply)::

    away until 2026-12-07        away 24 Dec - 1 Jan        away from 24.12. to 1.1.
    away tomorrow                away on Friday             away for 3 days
    back

and the return date in an out-of-office text: "back on 7 December" (leave
ends the day before), "until 12/07", "bis zum 7.12.", "from 24 Dec to 1 Jan"
(leave through that date). Pure functions of the text and ``today`` (the
person's local date): nothing here touches the database.

A date without a year is the next one: this year's, unless that is more than
a month past, so "1 Jan" in December is next January and "30 November" on
1 December is yesterday (and refused as past, not read as next year). "12/07"
is read both ways (7 December and 12 July) and the nearer future date wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {
    **dict.fromkeys(("jan", "january", "januar", "janvier", "enero", "jänner"), 1),
    **dict.fromkeys(("feb", "february", "februar", "février", "fevrier", "febrero"), 2),
    **dict.fromkeys(("mar", "march", "märz", "maerz", "mars", "marzo"), 3),
    **dict.fromkeys(("apr", "april", "avril", "abril"), 4),
    **dict.fromkeys(("may", "mai", "mayo"), 5),
    **dict.fromkeys(("jun", "june", "juni", "juin", "junio"), 6),
    **dict.fromkeys(("jul", "july", "juli", "juillet", "julio"), 7),
    **dict.fromkeys(("aug", "august", "août", "aout", "agosto"), 8),
    **dict.fromkeys(("sep", "sept", "september", "septembre", "septiembre"), 9),
    **dict.fromkeys(("oct", "october", "oktober", "okt", "octobre", "octubre"), 10),
    **dict.fromkeys(("nov", "november", "novembre", "noviembre"), 11),
    **dict.fromkeys(("dec", "december", "dezember", "dez", "décembre", "decembre",
                     "diciembre"), 12),
}
WEEKDAYS = {
    **dict.fromkeys(("monday", "mon", "montag", "lundi", "lunes"), 0),
    **dict.fromkeys(("tuesday", "tue", "tues", "dienstag", "mardi", "martes"), 1),
    **dict.fromkeys(("wednesday", "wed", "mittwoch", "mercredi", "miércoles"), 2),
    **dict.fromkeys(("thursday", "thu", "thur", "thurs", "donnerstag", "jeudi", "jueves"), 3),
    **dict.fromkeys(("friday", "fri", "freitag", "vendredi", "viernes"), 4),
    **dict.fromkeys(("saturday", "sat", "samstag", "samedi", "sábado"), 5),
    **dict.fromkeys(("sunday", "sun", "sonntag", "dimanche", "domingo"), 6),
}
RELATIVE = {"today": 0, "heute": 0, "tomorrow": 1, "morgen": 1, "yesterday": -1,
            "gestern": -1}

_alts = lambda words: "|".join(sorted(map(re.escape, words), key=len, reverse=True))  # noqa: E731
_MONTH = rf"(?:{_alts(MONTHS)})\.?"
_WEEKDAY = rf"(?:{_alts(WEEKDAYS)})\.?"
_ORD = r"(?:st|nd|rd|th|\.|er)?"
# Each form names its groups; a weekday before an explicit date is allowed and ignored.
_FORMS = (
    ("iso", r"(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})"),
    ("dmy_name", rf"(?P<nd>\d{{1,2}}){_ORD}\s*(?:of\s+|de\s+)?(?P<nm>{_MONTH})"
                 r"(?:,?\s+(?P<ny>\d{4}))?"),
    ("mdy_name", rf"(?P<mm>{_MONTH})\s+(?P<md>\d{{1,2}}){_ORD}(?:,?\s+(?P<my>\d{{4}}))?"),
    ("dotted", r"(?P<dd>\d{1,2})\.(?P<dm>\d{1,2})(?:\.(?P<dy>\d{4}|\d{2})?)?"),
    ("slash", r"(?P<sa>\d{1,2})/(?P<sb>\d{1,2})(?:/(?P<sy>\d{2,4}))?"),
    ("weekday", rf"(?P<wnext>next\s+|nächsten\s+|naechsten\s+)?(?P<wd>{_WEEKDAY})"),
    ("relative", rf"(?P<rel>{_alts(RELATIVE)})"),
)
_PREFIX = rf"(?:{_WEEKDAY},?\s+(?:(?:the|den|le|el)\s+)?)?"
DATE = rf"{_PREFIX}(?:{'|'.join(f'(?:{body})' for _, body in _FORMS)})(?![\w/])"
_DATE_RE = re.compile(DATE, re.IGNORECASE)
# The same without group names, for patterns that hold more than one date.
ANY_DATE = re.sub(r"\(\?P<\w+>", "(?:", DATE)

MAX_MONTH_PAST = timedelta(days=31)


@dataclass(frozen=True)
class Span:
    """Leave from ``start`` through ``end`` (inclusive) as the text says it."""

    start: date
    end: date


@dataclass(frozen=True)
class Command:
    kind: str  # "away" | "back" | "unreadable"
    line: str  # as written
    span: Span | None = None


def _year(text: str | None) -> int | None:
    if not text:
        return None
    value = int(text)
    return value + 2000 if value < 100 else value


def _make(year: int | None, month: int, day: int, today: date) -> date | None:
    """The date, or None if it does not exist; a missing year is the next such date."""
    try:
        if year is not None:
            return date(year, month, day)
        found = date(today.year, month, day)
    except ValueError:
        try:
            return None if year is not None else date(today.year + 1, month, day)
        except ValueError:
            return None
    if found < today - MAX_MONTH_PAST:
        try:
            found = date(today.year + 1, month, day)
        except ValueError:
            return None
    return found


def _nearest(candidates: list[date | None], today: date) -> date | None:
    """Of the readings of an ambiguous date, the nearest one from today on (else the latest)."""
    real = [c for c in candidates if c is not None]
    future = sorted((c for c in real if c >= today), key=lambda c: c - today)
    return future[0] if future else (max(real) if real else None)


def _weekday(match: re.Match, today: date) -> date:
    """The coming such weekday ("Monday" said on a Monday is next week's)."""
    target = WEEKDAYS[match.group("wd").lower().rstrip(".")]
    return today + timedelta(days=(target - today.weekday()) % 7 or 7)


def _resolve(match: re.Match, today: date) -> date | None:
    g = match.groupdict()
    if g["iy"]:
        return _make(int(g["iy"]), int(g["im"]), int(g["id"]), today)
    if g["nd"]:
        return _make(_year(g["ny"]), MONTHS[g["nm"].lower().rstrip(".")], int(g["nd"]), today)
    if g["mm"]:
        return _make(_year(g["my"]), MONTHS[g["mm"].lower().rstrip(".")], int(g["md"]), today)
    if g["dd"]:
        return _make(_year(g["dy"]), int(g["dm"]), int(g["dd"]), today)
    if g["sa"]:
        a, b, year = int(g["sa"]), int(g["sb"]), _year(g["sy"])
        readings = [_make(year, a, b, today) if a <= 12 else None,
                    _make(year, b, a, today) if b <= 12 else None]
        return _nearest(readings, today)
    if g["wd"]:
        return _weekday(match, today)
    return today + timedelta(days=RELATIVE[g["rel"].lower()])


def find_date(text: str, today: date) -> tuple[date | None, re.Match | None]:
    """The first date in ``text`` and where it was found."""
    match = _DATE_RE.search(text)
    return (_resolve(match, today), match) if match else (None, None)


def read_date(text: str, today: date) -> date | None:
    """``text`` as one date (nothing else around it but spaces and punctuation)."""
    match = _DATE_RE.fullmatch(text.strip(" .,;:!()"))
    return _resolve(match, today) if match else None


# --- commands ----------------------------------------------------------------------

_AWAY = re.compile(r"^\s*(?:(?:i'?m|i am|i'?ll be|i will be)\s+)?(?:away|on leave|abwesend)"
                   r"\b[\s:,-]*(?P<rest>.*?)\s*[.!]*\s*$", re.IGNORECASE)
_BACK = re.compile(r"^\s*(?:(?:i'?m|i am)\s+)?(?:back|wieder da)(?:\s+(?:now|today|again|"
                   r"at work|from leave|in the office))?\s*[.!]*\s*$", re.IGNORECASE)
_UNTIL = r"(?:until|till|til|through|thru|to|up to|bis(?:\s+(?:zum|zur|einschlie(?:ß|ss)lich))?)"
_RANGE_SEP = r"(?:\s*(?:-|–|—|\.\.)\s*|\s+(?:to|until|till|through|thru|bis(?:\s+zum)?)\s+)"
_FOR = re.compile(r"^for\s+(?P<n>\d{1,3}|a|one|two|three)\s+(?P<unit>days?|weeks?)$",
                  re.IGNORECASE)
_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3}


def _range(rest: str, today: date) -> Span | None:
    """"24 Dec - 1 Jan", "from 24.12. to 1.1.": tried at every separator, since ISO
    dates have dashes of their own."""
    for sep in re.finditer(_RANGE_SEP, rest, re.IGNORECASE):
        first = re.sub(r"^(?:from|vom|von)\s+", "", rest[:sep.start()], flags=re.IGNORECASE)
        start = read_date(first, today)
        end = read_date(rest[sep.end():], start) if start else None
        if start and end:
            return Span(start, end)
    return None


def _span(rest: str, today: date) -> Span | None:
    """The leave that the words after "away" describe, or None if they are unreadable."""
    rest = rest.strip(" .,;:!")
    if match := re.fullmatch(rf"{_UNTIL}\s+(?:and including\s+)?(?P<d>.+)", rest, re.I):
        end = read_date(match.group("d"), today)
        return Span(today, end) if end else None
    if span := _range(rest, today):
        return span
    if match := _FOR.fullmatch(rest):
        count = _NUMBERS.get(match.group("n").lower()) or int(match.group("n"))
        days = count * (7 if match.group("unit").lower().startswith("week") else 1)
        return Span(today, today + timedelta(days=days - 1)) if days > 0 else None
    single = read_date(re.sub(r"^(?:on|am|le)\s+", "", rest, flags=re.I), today)
    return Span(single, single) if single else None


_UNTIL_WORDS = {"until", "till", "til", "through", "thru", "bis", "to"}


def meant_as_command(command: Command) -> bool:
    """Is an unreadable "away …" line still plainly a command ("away until blursday"),
    rather than a sentence that starts with the word ("away from keyboard until noon")?"""
    rest = _AWAY.match(command.line).group("rest").split()
    return not rest or rest[0].lower() in _UNTIL_WORDS and len(rest) <= 4


def command(line: str, today: date) -> Command | None:
    """``line`` as an away or back command, or None if it is not one at all."""
    if _BACK.match(line):
        return Command("back", line.strip())
    match = _AWAY.match(line)
    if not match:
        return None
    span = _span(match.group("rest"), today) if match.group("rest") else None
    return Command("away" if span else "unreadable", line.strip(), span)


# --- out-of-office text ----------------------------------------------------------------

_BACK_ON = re.compile(
    r"\b(?:back|return(?:ing)?|returns|in the office again|in the office|zurück|zurueck|"
    r"wieder\s+(?:da|im büro|im buero|erreichbar|verfügbar|verfuegbar|im haus)|"
    r"de retour|regreso|vuelvo)\b[^.\n]{0,25}?\b(?:on|am|ab|from|le|el|by)?\s*"
    rf"(?P<d>{ANY_DATE})", re.IGNORECASE)
_BACK_AB = re.compile(rf"\bab\s+(?P<d>{ANY_DATE})\s+(?:bin ich\s+)?(?:wieder|zurück)",
                      re.IGNORECASE)
_UNTIL_OOO = re.compile(rf"\b{_UNTIL}\s+(?:and including\s+)?(?P<d>{ANY_DATE})", re.IGNORECASE)
_RANGE_OOO = re.compile(rf"\b(?:from|vom|von|du)\s+(?P<a>{ANY_DATE}){_RANGE_SEP}(?P<b>{ANY_DATE})",
                        re.IGNORECASE)


def out_of_office_span(text: str, today: date) -> Span | None:
    """The leave an out-of-office text announces, from ``today``; None without a date.

    The first phrase wins: "back on X" means leave through the day before X,
    "until X" and "from A to B" through X and B.
    """
    found = []
    for pattern, kind in ((_RANGE_OOO, "range"), (_BACK_ON, "back"), (_BACK_AB, "back"),
                          (_UNTIL_OOO, "until")):
        for match in pattern.finditer(text):
            found.append((match.start(), kind, match))
    for _, kind, match in sorted(found, key=lambda item: item[0]):
        if kind == "range":
            start, _m = find_date(match.group("a"), today)
            end, _m = find_date(match.group("b"), start or today)
            if start and end:
                return Span(today, end)
            continue
        day, _m = find_date(match.group("d"), today)
        if day is None:
            continue
        return Span(today, day - timedelta(days=1) if kind == "back" else day)
    return None
