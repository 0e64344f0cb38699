"""Typed values from text: numbers with either decimal convention, currencies and booleans."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from fieldstone.extract.normalize import fold, tokens, word_set

Decimal = Literal[",", "."]

_NUMBER = re.compile(
    r"(?<![\w.,/])"
    r"(\d{1,3}(?:([.,'\u2019\u00a0\u202f ])\d{3})(?:\2\d{3})*(?:[.,]\d+)?|\d+(?:[.,]\d+)?)"
    r"(,-|\.-)?"
    r"(?!\d|[.,]\d)"
)

CURRENCY_SYMBOLS: dict[str, str] = {
    "€": "EUR",
    "$": "USD",
    "us$": "USD",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "rs": "INR",
    "rs.": "INR",
    "zł": "PLN",
    "zl": "PLN",
    "r$": "BRL",
    "c$": "CAD",
    "ca$": "CAD",
    "a$": "AUD",
    "au$": "AUD",
    "nz$": "NZD",
    "hk$": "HKD",
    "s$": "SGD",
    "₽": "RUB",
    "₺": "TRY",
    "₩": "KRW",
    "₪": "ILS",
    "฿": "THB",
    "₫": "VND",
    "₱": "PHP",
    "kč": "CZK",
    "ft": "HUF",
    "fr.": "CHF",
    "sfr": "CHF",
    "lei": "RON",
}
ISO_CURRENCIES: frozenset[str] = word_set(
    "EUR USD GBP JPY CHF CAD AUD NZD CNY HKD SGD INR PLN CZK HUF SEK NOK DKK ISK RON BGN HRK RUB UAH TRY BRL "
    "MXN ARS CLP COP PEN ZAR NGN KES EGP MAD AED SAR QAR ILS KRW TWD THB VND IDR MYR PHP PKR BDT LKR"
)
CURRENCY_NAMES: dict[str, str] = {
    "euro": "EUR",
    "euros": "EUR",
    "dollar": "USD",
    "dollars": "USD",
    "rupee": "INR",
    "rupees": "INR",
    "pound sterling": "GBP",
    "pounds sterling": "GBP",
    "zloty": "PLN",
    "zlotych": "PLN",
    "zlote": "PLN",
    "franken": "CHF",
    "swiss francs": "CHF",
    "yen": "JPY",
    "yuan": "CNY",
    "renminbi": "CNY",
}
_SYMBOL_RE = re.compile(
    r"(us\$|ca\$|au\$|nz\$|hk\$|[rcas]\$|[€$£¥₹₽₺₩₪฿₫₱]|\brs\.?(?=\s*-?\d)|\bz[łl]\b|\bkč\b|\bsfr\b|\bfr\.(?=\s*\d))",
    re.IGNORECASE,
)
_CODE_RE = re.compile(r"\b([A-Z]{3})\b")


@dataclass(frozen=True, slots=True)
class NumberMatch:
    value: float
    start: int
    end: int
    has_fraction: bool
    percent: bool
    currency: str | None

    def as_json(self) -> float | int:
        if not self.has_fraction and self.value.is_integer() and abs(self.value) < 2**53:
            return int(self.value)
        return self.value


def _to_float(raw: str, decimal: Decimal | None) -> tuple[float, bool] | None:
    s = raw.replace("\u00a0", " ").replace("\u202f", " ").replace("\u2019", "'")
    s = s.replace(" ", "").replace("'", "")
    if "," in s and "." in s:
        dec = "," if s.rfind(",") > s.rfind(".") else "."
        thousands = "." if dec == "," else ","
        s = s.replace(thousands, "").replace(dec, ".")
        return float(s), True
    for sep in (",", "."):
        if sep in s:
            head, _, tail = s.rpartition(sep)
            if s.count(sep) > 1:
                return float(s.replace(sep, "")), False
            is_decimal = len(tail) != 3 or head in ("0", "") or decimal == sep
            if len(tail) == 3 and decimal is not None and decimal != sep:
                is_decimal = False
            if is_decimal:
                return float(head.replace(sep, "") + "." + tail), True
            return float(head + tail), False
    try:
        return float(s), False
    except ValueError:
        return None


def _currency_near(text: str, start: int, end: int) -> str | None:
    before = text[max(0, start - 6) : start]
    after = text[end : end + 6]
    for chunk in (before.rstrip(), after.lstrip()):
        code = _CODE_RE.search(chunk)
        if code and code.group(1) in ISO_CURRENCIES:
            return code.group(1)
        sym = _SYMBOL_RE.search(chunk)
        if sym:
            return CURRENCY_SYMBOLS.get(sym.group(1).lower())
    return None


def find_numbers(text: str, decimal: Decimal | None = None) -> list[NumberMatch]:
    """Numbers in ``text`` with sign, percent flag and an adjacent currency, left to right."""
    out: list[NumberMatch] = []
    for m in _NUMBER.finditer(text):
        raw = m.group(1)
        # A number glued to letters is part of an identifier ("3DS", "A4"), unless they are a currency.
        nxt = text[m.end() : m.end() + 3]
        if nxt[:1].isalpha() and not (nxt.upper() in ISO_CURRENCIES or fold(nxt[:2]) in ("zl", "kc", "ft")):
            continue
        parsed = _to_float(raw, decimal)
        if parsed is None:
            continue
        value, frac = parsed
        start = m.start()
        prefix = text[max(0, start - 2) : start]
        if prefix.endswith(("-", "\u2212", "\u2013")) and (len(prefix) < 2 or not prefix[0].isalnum()):
            value, start = -value, start - 1
        elif prefix.endswith("(") and text[m.end() : m.end() + 1] == ")":
            value = -value  # accounting notation (12.00)
        end = m.end()
        rest = text[end : end + 3]
        percent = rest.lstrip().startswith("%")
        out.append(NumberMatch(value, start, end, frac, percent, _currency_near(text, start, end)))
    return out


def parse_number(text: str, decimal: Decimal | None = None) -> float | int | None:
    """The first number that is not a percentage (or the first percentage if there is nothing else)."""
    nums = find_numbers(text, decimal)
    for n in nums:
        if not n.percent:
            return n.as_json()
    return nums[0].as_json() if nums else None


def decimal_votes(text: str) -> tuple[int, int]:
    """Votes (comma, dot) for the decimal separator: amounts written with exactly two decimals."""
    comma = len(re.findall(r"\d,\d{2}(?![\d.,])", text))
    dot = len(re.findall(r"\d\.\d{2}(?![\d.,])", text))
    return comma, dot


def find_currencies(text: str) -> list[tuple[str, int, int]]:
    """ISO codes for currency symbols, codes and names in ``text`` with their spans."""
    out: list[tuple[str, int, int]] = []
    for m in _SYMBOL_RE.finditer(text):
        code = CURRENCY_SYMBOLS.get(m.group(1).lower())
        if code:
            out.append((code, m.start(), m.end()))
    for m in _CODE_RE.finditer(text):
        if m.group(1) in ISO_CURRENCIES:
            out.append((m.group(1), m.start(), m.end()))
    folded = fold(text)
    if len(folded) == len(text):
        for name, code in CURRENCY_NAMES.items():
            for m in re.finditer(rf"\b{re.escape(name)}\b", folded):
                # "US Dollars" and "$" are USD, but "Canadian dollars" is not.
                prev = folded[max(0, m.start() - 12) : m.start()].split()
                if code == "USD" and prev and prev[-1] not in ("us", "u.s.", "american"):
                    continue
                out.append((code, m.start(), m.end()))
    out.sort(key=lambda t: t[1])
    return out


def parse_currency(text: str) -> str | None:
    found = find_currencies(text)
    return found[0][0] if found else None


_TRUE = word_set("yes y true ja j oui si x checked 1 on wahr vrai waar tak sim")
_FALSE = word_set("no n false nein non nee nie unchecked 0 off falsch faux onwaar nao")
_TRUE_MARKS = set("☑☒✓✔✗✘■")
_FALSE_MARKS = set("☐□")


def parse_bool(text: str) -> bool | None:
    stripped = text.strip()
    if not stripped:
        return None
    if stripped[0] in _TRUE_MARKS:
        return True
    if stripped[0] in _FALSE_MARKS:
        return False
    toks = tokens(stripped)
    if not toks:
        return None
    if toks[0] in _TRUE:
        return True
    if toks[0] in _FALSE:
        return False
    return None
