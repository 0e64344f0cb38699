"""Values found without a label: document-wide patterns and layout heuristics (low confidence)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from fieldstone.extract.address import CUSTOMER_LABELS, address_candidate
from fieldstone.extract.dates import find_dates
from fieldstone.extract.fields import (
    _EMAIL,
    _IBAN,
    _URL,
    Candidate,
    Context,
    Region,
    parse_phone,
)
from fieldstone.extract.labels import FieldSpec
from fieldstone.extract.layout import Line
from fieldstone.extract.normalize import fold
from fieldstone.extract.values import find_currencies, find_numbers

_LEGAL_FORM = re.compile(
    r"\b(inc|incorporated|ltd|limited|llc|llp|plc|corp|corporation|gmbh|ag|kg|ohg|ug|se|b\s?\.?\s?v|n\s?\.?\s?v|"
    r"s\.?a\.?s?|sarl|s\.?r\.?l|s\.?p\.?a|spa|oy|ab|a/s|aps|pvt|pty|co|sp\.?\s?z\s?o\.?\s?o|spolka|s\.?l)\b\.?",
    re.IGNORECASE,
)
_EU_VAT = re.compile(
    r"\b((?:AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|GB|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|CHE)"
    r"[\s.-]?[0-9A-Z](?:[\s.-]?[0-9A-Z]){7,13})\b"
)
_CUSTOMER_WORDS = CUSTOMER_LABELS


def _first_match(
    ctx: Context,
    pattern: re.Pattern[str],
    conf: float,
    transform: Callable[[str], str] = str,
    check: Callable[[str], bool] = lambda s: True,
) -> Candidate | None:
    for lt in ctx.lines:
        for m in pattern.finditer(lt.text):
            value = transform(m.group(m.lastindex or 0))
            if not check(value):
                continue
            bbox, src = Region(lt.line.words).sub(m.start(), m.end())
            return Candidate(value, conf, lt.line.page, bbox, src)
    return None


_COMMON_TLDS = (
    "com",
    "net",
    "org",
    "eu",
    "de",
    "fr",
    "nl",
    "be",
    "pl",
    "uk",
    "it",
    "es",
    "ch",
    "at",
    "in",
    "io",
)


def _looks_like_site(s: str) -> bool:
    low = s.lower().rstrip("/")
    host = re.sub(r"^https?://", "", low).split("/")[0]
    return low.startswith(("http", "www.")) or host.rsplit(".", 1)[-1] in _COMMON_TLDS


def _iban_ok(value: str) -> bool:
    if not 15 <= len(value) <= 34:
        return False
    moved = value[4:] + value[:4]
    digits = "".join(str(int(ch, 36)) for ch in moved if ch.isalnum())
    return int(digits) % 97 == 1


def currency(ctx: Context) -> Candidate | None:
    counts: Counter[str] = Counter()
    first: dict[str, Candidate] = {}
    for lt in ctx.lines:
        nums = find_numbers(lt.text, ctx.decimal)
        for n in nums:
            if n.currency:
                counts[n.currency] += 2  # a currency written next to an amount is strong evidence
        for code, s, e in find_currencies(lt.text):
            counts[code] += 1
            if code not in first:
                bbox, src = Region(lt.line.words).sub(s, e)
                first[code] = Candidate(code, 0.0, lt.line.page, bbox, src)
    if not counts:
        return None
    code, votes = counts.most_common(1)[0]
    share = votes / sum(counts.values())
    cand = first.get(code)
    if cand is None:
        return None
    cand.score = 0.45 + 0.4 * share
    return cand


def first_date(ctx: Context) -> Candidate | None:
    for lt in ctx.lines:
        found = find_dates(lt.text, ctx.date_order)
        if found:
            bbox, src = Region(lt.line.words).sub(found[0].start, found[0].end)
            return Candidate(found[0].iso, 0.3, lt.line.page, bbox, src)
    return None


def _near_customer_label(line: Line, ctx: Context) -> bool:
    """True when the line sits in an address block introduced by a customer label."""
    page_lines = ctx.lines_by_page.get(line.page, [])
    for other in page_lines:
        if other.y1 > line.y1 or line.y0 - other.y0 > 6 * line.height:
            continue
        text = fold(other.text)
        if any(w in text for w in _CUSTOMER_WORDS) and (
            min(other.words[-1].x1, line.words[-1].x1) - max(other.words[0].x0, line.words[0].x0) > 0
        ):
            return True
    return False


def vendor_name(ctx: Context) -> Candidate | None:
    """A company name with a legal form (Ltd, GmbH, B.V., ...) outside the customer's address block."""
    scored: list[tuple[float, Candidate]] = []
    counts: Counter[str] = Counter()
    in_footer: set[str] = set()
    for lt in ctx.lines:
        page_h = ctx.page_heights.get(lt.line.page, 1.0) or 1.0
        for seg in lt.line.segments:
            text = seg.text
            m = _LEGAL_FORM.search(text)
            if not m:
                continue
            name = text[: m.end()].strip(" ,;:-")
            # Keep the name itself: drop leading words of a sentence ("sold by X Inc.", "Note: X Ltd").
            name = re.split(r"(?i)\b(?:by|from|von|par|door|of)\s+|:\s*", name)[-1].strip()
            if len(name) < 3 or len(name) > 60 or sum(c.isdigit() for c in name) > 2:
                continue
            if not _LEGAL_FORM.sub("", name).strip(" ,.-"):
                continue  # only the legal form ("SARL au capital de ...")
            key = fold(name)
            counts[key] += 1
            if lt.line.y0 > 0.8 * page_h:
                in_footer.add(key)
            score = 0.5 - 0.15 * ctx.rel_y(lt.line)
            if _near_customer_label(lt.line, ctx):
                score -= 0.3
            scored.append((score, Candidate(name, score, lt.line.page, seg.bbox, text)))
    if not scored:
        return _top_line(ctx)
    for i, (score, cand) in enumerate(scored):
        key = fold(str(cand.value))
        # A seller's name tends to be repeated (letterhead, footer, payment details) and sits in the footer.
        bonus = 0.05 * min(counts[key] - 1, 3) + (0.1 if key in in_footer else 0.0)
        scored[i] = (score + bonus, cand)
    best_score, best = max(scored, key=lambda t: t[0])
    best.score = max(0.1, min(best_score, 0.6))
    return best


_PAYMENT_METHODS = (
    "credit card",
    "debit card",
    "bank transfer",
    "wire transfer",
    "direct debit",
    "cash on delivery",
    "cash at hotel",
    "paypal",
    "ideal",
    "sofort",
    "klarna",
    "bancontact",
    "visa",
    "mastercard",
    "american express",
    "apple pay",
    "google pay",
    "sepa",
    "cheque",
    "check",
    "cash",
    "virement",
    "prelevement",
    "carte bancaire",
    "uberweisung",
    "lastschrift",
    "kreditkarte",
    "rechnung",
    "overboeking",
    "przelew",
    "gotowka",
    "blik",
)
_PAYMENT_RE = re.compile(r"\b(" + "|".join(re.escape(p) for p in _PAYMENT_METHODS) + r")\b")


def payment_method(ctx: Context) -> Candidate | None:
    """A known payment-method name anywhere in the document (the first one, as printed)."""
    for lt in ctx.lines:
        folded = fold(lt.text)
        if len(folded) != len(lt.text):
            continue
        m = _PAYMENT_RE.search(folded)
        if m:
            bbox, src = Region(lt.line.words).sub(m.start(), m.end())
            return Candidate(lt.text[m.start() : m.end()], 0.35, lt.line.page, bbox, src)
    return None


def _top_line(ctx: Context) -> Candidate | None:
    """The largest text near the top of the first page (usually the letterhead)."""
    if not ctx.doc.pages or not ctx.doc.pages[0].lines:
        return None
    page = ctx.doc.pages[0]
    top = [ln for ln in page.lines if ln.y0 < page.height * 0.3 and re.search(r"[^\W\d_]{3}", ln.text)]
    if not top:
        return None
    line = max(top, key=lambda ln: (round(ln.height, 0), -ln.y0))
    seg = line.segments[0]
    tallest = sorted((ln.height for ln in top), reverse=True)
    unique = len(tallest) == 1 or tallest[0] > tallest[1] * 1.15
    return Candidate(seg.text, 0.35 if unique else 0.2, page.number, seg.bbox, seg.text)


def vat_id(ctx: Context) -> Candidate | None:
    return _first_match(
        ctx, _EU_VAT, 0.35, lambda s: re.sub(r"[\s.-]", "", s), lambda s: sum(c.isdigit() for c in s) >= 7
    )


FALLBACKS: dict[str, Callable[[Context], Candidate | None]] = {
    "currency": currency,
    "invoice_date": first_date,
    "vendor_name": vendor_name,
    "email": lambda ctx: _first_match(ctx, _EMAIL, 0.4),
    "website": lambda ctx: _first_match(ctx, _URL, 0.3, check=_looks_like_site),
    "iban": lambda ctx: _first_match(ctx, _IBAN, 0.5, lambda s: re.sub(r"\s", "", s), _iban_ok),
    "vat_id": vat_id,
    "payment_method": payment_method,
}


def phone(ctx: Context) -> Candidate | None:
    """A phone-like number: 9-15 digits written with a '+', brackets or separators (not a date)."""
    for lt in ctx.lines:
        parsed = parse_phone(lt.text, ctx)
        if parsed:
            digits = sum(c.isdigit() for c in parsed[0])
            if not 9 <= digits <= 15 or parsed[0].isdigit() or find_dates(parsed[0], ctx.date_order):
                continue
            if re.search(r"\d[.,]\d{2}(?:\s|$)", parsed[0]):
                continue  # a list of amounts, not a phone number
            bbox, src = Region(lt.line.words).sub(parsed[1], parsed[2])
            return Candidate(parsed[0], 0.25, lt.line.page, bbox, src)
    return None


# BIC codes look like ordinary upper-case words: without a label they are not guessed.
FALLBACKS["phone"] = phone


_ADDRESS_PARTS = {
    "street": "street",
    "postal_code": "zip",
    "city": "city",
    "state": "state",
    "country": "country",
}


def _address(spec: FieldSpec, ctx: Context) -> Candidate | None:
    assert spec.concept is not None
    part = _ADDRESS_PARTS[spec.concept.name]
    text = fold(f"{spec.var.key.replace('_', ' ')} {spec.var.context}")
    if part == "country" and ("code" in text or "iso" in text):
        part = "country_code"
    if ctx.vendor is None:
        found = vendor_name(ctx)
        ctx.vendor = str(found.value) if found is not None else ""
    return address_candidate(part, spec.var.key, spec.var.context, ctx, ctx.vendor or None)


def fallback(spec: FieldSpec, ctx: Context) -> Candidate | None:
    if spec.concept is None:
        return None
    if spec.concept.name in _ADDRESS_PARTS:
        return _address(spec, ctx)
    fn = FALLBACKS.get(spec.concept.name)
    return fn(ctx) if fn else None
