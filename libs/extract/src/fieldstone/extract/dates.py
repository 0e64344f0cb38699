"""Deterministic date parsing for common numeric and written formats in several languages.

No relative dates ("yesterday") and no dependence on the current date or locale: the same text
always gives the same ISO date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from fieldstone.extract.normalize import fold

DateOrder = Literal["DMY", "MDY"]

_MONTHS_RAW: dict[int, tuple[str, ...]] = {
    1: (
        "january",
        "jan",
        "januar",
        "janner",
        "janvier",
        "janv",
        "januari",
        "enero",
        "ene",
        "gennaio",
        "gen",
        "janeiro",
        "styczen",
        "stycznia",
        "sty",
    ),
    2: (
        "february",
        "feb",
        "februar",
        "fevrier",
        "fevr",
        "fev",
        "februari",
        "febrero",
        "febbraio",
        "fevereiro",
        "fev",
        "luty",
        "lutego",
        "lut",
    ),
    3: ("march", "mar", "marz", "maerz", "mrz", "mars", "maart", "mrt", "marzo", "marco", "marca", "marzec"),
    4: ("april", "apr", "avril", "avr", "abril", "abr", "aprile", "kwiecien", "kwietnia", "kwi"),
    5: ("may", "mai", "mei", "mayo", "maggio", "mag", "maio", "maj", "maja"),
    6: ("june", "jun", "juni", "juin", "junio", "giugno", "giu", "junho", "czerwiec", "czerwca", "cze"),
    7: (
        "july",
        "jul",
        "juli",
        "juillet",
        "juil",
        "julio",
        "luglio",
        "lug",
        "julho",
        "lipiec",
        "lipca",
        "lip",
    ),
    8: ("august", "aug", "aout", "augustus", "agosto", "ago", "sierpien", "sierpnia", "sie"),
    9: (
        "september",
        "sep",
        "sept",
        "septembre",
        "septiembre",
        "settembre",
        "set",
        "setembro",
        "wrzesien",
        "wrzesnia",
        "wrz",
    ),
    10: (
        "october",
        "oct",
        "oktober",
        "okt",
        "octobre",
        "octubre",
        "ottobre",
        "ott",
        "outubro",
        "out",
        "pazdziernik",
        "pazdziernika",
        "paz",
    ),
    11: ("november", "nov", "novembre", "noviembre", "novembro", "listopad", "listopada", "lis"),
    12: (
        "december",
        "dec",
        "dezember",
        "dez",
        "decembre",
        "diciembre",
        "dic",
        "dicembre",
        "dezembro",
        "grudzien",
        "grudnia",
        "gru",
    ),
}
MONTHS: dict[str, int] = {name: num for num, names in _MONTHS_RAW.items() for name in names}
_MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))

_SEP = r"[\s.\-/,]*"
_ORD = r"(?:st|nd|rd|th|er|e|ste|de|\.)?"
_ISO = re.compile(r"(?<!\d)(\d{4})([-./])(\d{1,2})\2(\d{1,2})(?!\d)")
_NUMERIC = re.compile(r"(?<![\d.])(\d{1,2})([./\-])(\d{1,2})\2(\d{4}|\d{2})(?![\d])")
_DAY_MONTH = re.compile(
    rf"(?<![\w])(\d{{1,2}}){_ORD}{_SEP}(?:de\s+)?({_MONTH_ALT})(?![a-z])\.?{_SEP}(?:de\s+)?(\d{{4}}|'?\d{{2}})(?![\d])"
)
_MONTH_DAY = re.compile(
    rf"(?<![\w])({_MONTH_ALT})(?![a-z])\.?{_SEP}(\d{{1,2}}){_ORD}\s*,?\s*(\d{{4}})(?![\d])"
)


@dataclass(frozen=True, slots=True)
class DateMatch:
    value: dt.date
    start: int
    end: int
    numeric: bool

    @property
    def iso(self) -> str:
        return self.value.isoformat()


def _year(text: str) -> int:
    y = int(text.lstrip("'"))
    if y < 100:  # two-digit years: pivot so that 69 -> 2069 and 70 -> 1970
        y += 2000 if y < 70 else 1900
    return y


def _make(y: int, m: int, d: int) -> dt.date | None:
    if not 1900 <= y <= 2100:
        return None
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def find_dates(text: str, order: DateOrder = "DMY") -> list[DateMatch]:
    """All dates in ``text`` (spans refer to ``text``), left to right, without overlaps."""
    # Folding keeps the length for Latin text in practice; guard anyway so spans stay valid.
    folded = fold(text)
    if len(folded) != len(text):
        folded = text.lower()
    found: list[DateMatch] = []
    for m in _ISO.finditer(folded):
        d = _make(int(m.group(1)), int(m.group(3)), int(m.group(4)))
        if d:
            found.append(DateMatch(d, m.start(), m.end(), True))
    for m in _NUMERIC.finditer(folded):
        a, b, y = int(m.group(1)), int(m.group(3)), _year(m.group(4))
        if m.group(2) == "-" and len(m.group(4)) == 2 and a > 31:
            continue
        day, month = (a, b) if order == "DMY" else (b, a)
        if month > 12 and day <= 12:  # the order is obvious from the numbers themselves
            day, month = month, day
        d = _make(y, month, day)
        if d:
            found.append(DateMatch(d, m.start(), m.end(), True))
    for m in _DAY_MONTH.finditer(folded):
        d = _make(_year(m.group(3)), MONTHS[m.group(2)], int(m.group(1)))
        if d:
            found.append(DateMatch(d, m.start(), m.end(), False))
    for m in _MONTH_DAY.finditer(folded):
        d = _make(_year(m.group(3)), MONTHS[m.group(1)], int(m.group(2)))
        if d:
            found.append(DateMatch(d, m.start(), m.end(), False))
    found.sort(key=lambda x: (x.start, -(x.end - x.start)))
    result: list[DateMatch] = []
    for match in found:
        if result and match.start < result[-1].end:
            continue
        result.append(match)
    return result


def parse_date(text: str, order: DateOrder = "DMY") -> str | None:
    """The first date in ``text`` as ISO ``YYYY-MM-DD``, or None."""
    found = find_dates(text, order)
    return found[0].iso if found else None


def numeric_order_evidence(text: str) -> tuple[int, int]:
    """Votes (DMY, MDY) from numeric dates whose order is unambiguous (a part above 12)."""
    dmy = mdy = 0
    for m in _NUMERIC.finditer(text):
        a, b = int(m.group(1)), int(m.group(3))
        if a > 12 and b <= 12:
            dmy += 1
        elif b > 12 and a <= 12:
            mdy += 1
    return dmy, mdy
