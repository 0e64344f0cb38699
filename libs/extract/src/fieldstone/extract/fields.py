"""Scalar fields: find labels, read the value next to or below them, type it and score it."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fieldstone.extract.dates import DateOrder, find_dates
from fieldstone.extract.labels import FieldSpec, LabelHit, LabelMatcher, LineTokens
from fieldstone.extract.layout import BBox, Document, Line, Word, union_bbox
from fieldstone.extract.models import FieldResult
from fieldstone.extract.normalize import collapse_ws, fold
from fieldstone.extract.values import Decimal, NumberMatch, find_currencies, find_numbers, parse_bool

# How much we trust a value by where it sits relative to its label.
P_INLINE = 1.0
P_RIGHT = 0.92
P_BELOW = 0.85
P_BELOW_2 = 0.7
P_LEFT = 0.6
MIN_SCORE = 0.3


@dataclass(slots=True)
class Context:
    doc: Document
    lines: list[LineTokens]
    matcher: LabelMatcher
    decimal: Decimal | None
    date_order: DateOrder
    page_heights: dict[int, float]
    lines_by_page: dict[int, list[Line]] = field(default_factory=dict)
    header_rows: dict[int, bool] = field(default_factory=dict)
    addresses: Any = None  # address blocks, found once on first use (see address.py)
    vendor: Any = None  # the seller's name candidate, found once on first use

    def rel_y(self, line: Line) -> float:
        """Vertical position of a line in the whole document, 0 (top of first page) .. 1 (bottom of last)."""
        pages = [p.number for p in self.doc.pages]
        idx = pages.index(line.page) if line.page in pages else 0
        h = self.page_heights.get(line.page, 1.0) or 1.0
        return (idx + min(max(line.y0 / h, 0.0), 1.0)) / max(len(pages), 1)


@dataclass(slots=True)
class Candidate:
    value: Any
    score: float
    page: int
    bbox: BBox
    source_text: str


@dataclass(slots=True)
class Region:
    """Words that may hold a value, with the text they make."""

    words: list[Word]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    def sub(self, start: int, end: int) -> tuple[BBox, str]:
        """Box and text of the words overlapping the character span ``[start, end)`` of ``text``."""
        pos = 0
        picked: list[Word] = []
        for w in self.words:
            w_end = pos + len(w.text)
            if w_end > start and pos < end:
                picked.append(w)
            pos = w_end + 1
        picked = picked or self.words
        return union_bbox(picked), self.text[start:end]


def _word_offsets(line: Line) -> list[tuple[int, int]]:
    out, pos = [], 0
    for w in line.words:
        out.append((pos, pos + len(w.text)))
        pos += len(w.text) + 1
    return out


def _split_word(w: Word, cut: int) -> Word:
    """The part of a word from character ``cut`` on, with a proportional box."""
    frac = cut / max(len(w.text), 1)
    return Word(w.text[cut:], w.x0 + (w.x1 - w.x0) * frac, w.y0, w.x1, w.y1)


def _segment_of(line: Line, word_idx: int) -> tuple[int, int, int]:
    """(segment index, first word index, end word index) of the segment holding a word."""
    count = 0
    for si, seg in enumerate(line.segments):
        if count <= word_idx < count + len(seg.words):
            return si, count, count + len(seg.words)
        count += len(seg.words)
    return len(line.segments) - 1, 0, len(line.words)


def _next_line(line: Line, ctx: Context) -> Line | None:
    for other in ctx.lines_by_page.get(line.page, []):
        if other is not line and other.y0 >= line.y1 - 0.3 * line.height:
            return other if other.y0 - line.y1 <= 2.5 * line.height else None
    return None


def is_header_row(line: Line, ctx: Context) -> bool:
    """A row of labels whose values sit in the row below ("Invoice Date: | Due Date:" over two dates)."""
    cached = ctx.header_rows.get(id(line))
    if cached is not None:
        return cached
    result = False
    segs = line.segments
    if len(segs) >= 2 and not any(ch.isdigit() for ch in line.text):
        colon = [seg.text.rstrip().endswith(":") for seg in segs]
        below = _next_line(line, ctx)
        if below is not None and (all(colon) or not any(colon)):
            aligned = sum(
                1 for seg in segs if any(_x_overlap(seg.x0, seg.x1, b.x0, b.x1) for b in below.segments)
            )
            result = aligned >= 2
    ctx.header_rows[id(line)] = result
    return result


def value_regions(hit: LabelHit, ctx: Context, *, allow_left: bool = False) -> list[tuple[Region, float]]:
    """Places where the value of a label can be: after it, right of it, below it (or before it)."""
    line = hit.line
    offsets = _word_offsets(line)
    last = next((i for i, (s, e) in enumerate(offsets) if s < hit.char_end <= e), len(offsets) - 1)
    first = next((i for i, (s, e) in enumerate(offsets) if s <= hit.char_start < e), 0)
    seg_idx, seg_start, seg_end = _segment_of(line, last)
    header = is_header_row(line, ctx)
    regions: list[tuple[Region, float]] = []
    rest: list[Word] = []
    cut = hit.char_end - offsets[last][0]
    if cut < len(line.words[last].text):
        rest.append(_split_word(line.words[last], cut))
    rest.extend(line.words[last + 1 : seg_end])
    rest = _strip_separators(rest)
    if rest:
        regions.append((Region(rest), P_INLINE))
    if seg_idx + 1 < len(line.segments) and not header:
        regions.append((Region(list(line.segments[seg_idx + 1].words)), P_RIGHT if rest else P_INLINE * 0.97))
    if not rest:
        seg = line.segments[seg_idx]
        # In a header row the whole cell is the label; elsewhere only the label's own words count.
        x0, x1 = (seg.x0, seg.x1) if header else (line.words[first].x0, line.words[last].x1)
        below = 0
        for other in ctx.lines_by_page.get(line.page, []):
            if other.y0 < line.y1 - 0.3 * line.height or other is line:
                continue
            if other.y0 - line.y1 > 2.5 * line.height + below * 1.2 * line.height:
                break
            if is_header_row(other, ctx):
                break  # the next row holds labels, not this label's value
            segs = [s for s in other.segments if _x_overlap(s.x0, s.x1, x0, x1) or abs(s.x0 - x0) < 8]
            if segs:
                best = max(segs, key=lambda s: min(s.x1, x1) - max(s.x0, x0))
                regions.append((Region(list(best.words)), P_BELOW if below == 0 else P_BELOW_2))
                below += 1
                if below >= 2:
                    break
    if allow_left and first > seg_start:
        regions.append((Region(list(line.words[max(seg_start, first - 4) : first])), P_LEFT))
    return regions


def _x_overlap(a0: float, a1: float, b0: float, b1: float) -> bool:
    return min(a1, b1) - max(a0, b0) > 0.3 * min(a1 - a0, b1 - b0)


_SEP_CHARS = ":;#.-\u2013\u2014=\u00b0|>*/\\"


def _strip_separators(words: list[Word]) -> list[Word]:
    out = list(words)
    while out:
        w = out[0]
        stripped = w.text.lstrip(_SEP_CHARS + " ")
        if not stripped:
            out.pop(0)
            continue
        if stripped != w.text:
            out[0] = _split_word(w, len(w.text) - len(stripped))
        break
    return out


# ---------------------------------------------------------------- value parsers


Parsed = tuple[Any, int, int, float]  # value, start, end (in region text), quality
Parser = Callable[[str, Context], Parsed | None]

_ID_TOKEN = re.compile(r"\S+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Host names only (a path is not part of "the website"); never the domain part of an e-mail address.
_URL = re.compile(
    r"(?<![@\w.\-])((?:https?://)?(?:www\.)?[a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*\.[a-z]{2,24})(?![\w@\-]|\.\w)",
    re.I,
)
_PHONE = re.compile(r"(?<![\w/])(\+?\(?\d[\d\s().\-/]{5,}\d)(?![\w/])")
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?:\s?[A-Z0-9]){8,30})\b")
_BIC = re.compile(r"\b([A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?)\b")
_SHORT_PREFIX = re.compile(r"^[A-Z]{1,3}$")
_DIGIT_GROUP = re.compile(r"^\d{1,4}$")


def parse_date_value(text: str, ctx: Context) -> Parsed | None:
    found = find_dates(text, ctx.date_order)
    if not found:
        return None
    d = found[0]
    return d.iso, d.start, d.end, 1.0 if d.start < 25 else 0.8


def _amounts(text: str, ctx: Context) -> tuple[list[NumberMatch], bool]:
    """Non-percentage numbers outside dates, and whether a percentage came before them."""
    dates = [(d.start, d.end) for d in find_dates(text, ctx.date_order)]
    nums = [n for n in find_numbers(text, ctx.decimal) if not any(s <= n.start < e for s, e in dates)]
    amounts = [n for n in nums if not n.percent]
    rate_first = bool(amounts) and any(n.percent and n.start < amounts[0].start for n in nums)
    return amounts, rate_first


def _money_quality(n: NumberMatch, rate_first: bool) -> float:
    quality = 1.0 if (n.has_fraction or n.currency) else 0.9
    # "Tax 15% on 112.90 | 16.94": after a rate comes its base, not the amount itself.
    return quality * (0.8 if rate_first else 1.0)


def parse_amount(text: str, ctx: Context) -> Parsed | None:
    nums, rate_first = _amounts(text, ctx)
    if not nums:
        return None
    n = nums[0]
    quality = _money_quality(n, rate_first) * (0.8 if n.start > 40 else 1.0)
    return n.as_json(), n.start, n.end, quality


def parse_total(text: str, ctx: Context) -> Parsed | None:
    """Totals rows often list net, tax and gross: the grand total is the last amount."""
    nums, rate_first = _amounts(text, ctx)
    if not nums:
        return None
    n = nums[-1]
    quality = _money_quality(n, rate_first) * (0.9 if len(nums) > 1 else 1.0)
    return n.as_json(), n.start, n.end, quality


def parse_code(text: str, ctx: Context) -> Parsed | None:
    """A short code: the first token ("DPU - Delivered at place unloaded" -> "DPU")."""
    m = re.search(r"[^\W_][\w.\-/]*", text)
    if not m or len(m.group()) > 20:
        return None
    value = m.group().rstrip(".-/")
    return value, m.start(), m.start() + len(value), 1.0


def parse_count(text: str, ctx: Context) -> Parsed | None:
    nums = [n for n in find_numbers(text, ctx.decimal) if not n.percent]
    if not nums:
        return None
    n = nums[0]
    return n.as_json(), n.start, n.end, 1.0 if not n.currency else 0.7


def parse_percent(text: str, ctx: Context) -> Parsed | None:
    nums = find_numbers(text, ctx.decimal)
    if not nums:
        return None
    pct = [n for n in nums if n.percent]
    n = pct[0] if pct else nums[0]
    return n.as_json(), n.start, n.end, 1.0 if pct else 0.8


def _clean_tok(tok: str) -> str:
    return tok.strip(".,;:()[]")


def _has_digit(tok: str) -> bool:
    return any(c.isdigit() for c in tok)


def parse_id(text: str, ctx: Context, *, compact: bool = False) -> Parsed | None:
    """An identifier near the start: the first token with a digit (plus a short prefix or digit groups)."""
    toks = list(_ID_TOKEN.finditer(text))
    for i, m in enumerate(toks[:4]):
        tok = _clean_tok(m.group())
        is_prefix = bool(_SHORT_PREFIX.match(tok)) and i + 1 < len(toks) and _has_digit(toks[i + 1].group())
        if not (_has_digit(tok) or is_prefix):
            continue
        start, end, j = m.start(), m.end(), i + 1
        if is_prefix:  # "F 1234K20/1234/12", "DE 232 446 240"
            end, j = toks[j].end(), j + 1
        if compact:  # tax ids are often printed in digit groups
            while j < len(toks) and _DIGIT_GROUP.match(_clean_tok(toks[j].group())):
                end, j = toks[j].end(), j + 1
        raw = text[start:end].strip(".,;:()[]")
        value = re.sub(r"[\s.\-]+", "", raw) if compact else re.sub(r"\s+", " ", raw)
        if len(re.sub(r"\W", "", value)) < 3 or "%" in value:
            return None
        dates = find_dates(raw)
        if dates and dates[0].end - dates[0].start >= len(raw) - 2:
            return None  # a date, not an identifier
        nums = find_numbers(raw, ctx.decimal)
        if (
            nums
            and (nums[0].currency or nums[0].has_fraction)
            and nums[0].end - nums[0].start >= len(raw) - 3
        ):
            return None  # an amount, not an identifier
        return value, start, start + len(raw), 1.0
    return None


def parse_text(text: str, ctx: Context) -> Parsed | None:
    cleaned = collapse_ws(text).strip(" ,;:'\"")
    if not re.search(r"\w", cleaned) or len(cleaned) > 200:
        return None
    start = max(text.find(cleaned[:1]), 0)
    return cleaned, start, start + len(cleaned), 0.9


_LEGAL_FORM_HINT = re.compile(
    r"\b(inc|ltd|limited|llc|plc|corp|gmbh|ag|kg|b\.?\s?v|n\.?\s?v|sas?|sarl|srl|spa|oy|ab|pvt|pty|s\.a)\b\.?",
    re.I,
)


def parse_name(text: str, ctx: Context) -> Parsed | None:
    parsed = parse_text(text, ctx)
    if parsed is None or not re.search(r"[^\W\d_]{2}", parsed[0]) or parsed[0].startswith("("):
        return None
    value, start, _end, _ = parsed
    value = value.rstrip(" ,;:-")
    return value, start, start + len(value), 1.0 if _LEGAL_FORM_HINT.search(value) else 0.85


def _regex_parser(pattern: re.Pattern[str], transform: Callable[[str], str] = lambda s: s) -> Parser:
    def parse(text: str, ctx: Context) -> Parsed | None:
        m = pattern.search(text)
        if not m:
            return None
        return transform(m.group(m.lastindex or 0)), m.start(), m.end(), 1.0

    return parse


def parse_phone(text: str, ctx: Context) -> Parsed | None:
    m = _PHONE.search(text)
    if not m or sum(c.isdigit() for c in m.group(1)) < 6:
        return None
    return m.group(1).strip(), m.start(1), m.end(1), 1.0


def parse_currency_value(text: str, ctx: Context) -> Parsed | None:
    found = find_currencies(text)
    if not found:
        return None
    code, s, e = found[0]
    return code, s, e, 1.0


def parse_digits(n: int) -> Parser:
    def parse(text: str, ctx: Context) -> Parsed | None:
        m = re.search(r"\d[\d\s.]*\d", text)
        if not m:
            return None
        digits = re.sub(r"\D", "", m.group())
        if len(digits) < n:
            return None
        return digits[:n], m.start(), m.end(), 1.0

    return parse


def parse_boolean(text: str, ctx: Context) -> Parsed | None:
    value = parse_bool(text)
    if value is None:
        return None
    return value, 0, len(text), 1.0


def parser_for(spec: FieldSpec) -> Parser:
    if spec.vtype == "boolean":
        return parse_boolean
    name = spec.concept.name if spec.concept else ""
    special: dict[str, Parser] = {
        "email": _regex_parser(_EMAIL),
        "website": _regex_parser(_URL),
        "phone": parse_phone,
        "iban": _regex_parser(_IBAN, lambda s: re.sub(r"\s", "", s)),
        "bic": _regex_parser(_BIC),
        "currency": parse_currency_value,
        "vat_id": lambda t, c: parse_id(t, c, compact=True),
    }
    if name in special:
        return special[name]
    if spec.concept is not None and spec.concept.extra.get("digits"):
        return parse_digits(int(spec.concept.extra["digits"]))
    if spec.vtype == "date":
        return parse_date_value
    if spec.vtype == "number":
        if name == "total":
            return parse_total
        return {"count": parse_count, "percent": parse_percent}.get(spec.kind, parse_amount)
    return {
        "id": parse_id,
        "code": parse_code,
        "name": parse_name,
        "date": parse_date_value,
        "amount": parse_amount,
    }.get(spec.kind, parse_text)


# ---------------------------------------------------------------- candidates and scoring


def _prior(spec: FieldSpec, line: Line, ctx: Context) -> float:
    """Layout prior: totals sit low on the last page, numbers and dates high on the first."""
    if spec.concept is None:
        return 1.0
    rel = ctx.rel_y(line)
    if spec.concept.position == "bottom":
        return 0.9 + 0.1 * rel
    if spec.concept.name in ("invoice_number", "invoice_date", "due_date", "vendor_name", "customer_id"):
        return 1.0 - 0.1 * rel
    return 1.0


_THEIR = frozenset(
    {
        "uw",
        "your",
        "ihre",
        "ihr",
        "votre",
        "vos",
        "customer",
        "client",
        "klant",
        "kunden",
        "buyer",
        "bill",
        "ship",
        "tu",
        "su",
        "twoj",
        "nabywcy",
        "cliente",
    }
)
_SELLER_SIDE = frozenset({"vat_id", "iban", "bic", "email", "website", "phone", "vendor_name"})


def label_candidates(spec: FieldSpec, ctx: Context) -> list[Candidate]:
    parse = parser_for(spec)
    allow_left = spec.kind == "id"
    seller_side = spec.concept is not None and spec.concept.name in _SELLER_SIDE
    out: list[Candidate] = []
    for lt in ctx.lines:
        for hit, weight in ctx.matcher.hits_for(spec, lt.line):
            # A label that starts its segment (or line) is a real label, not a word inside a sentence.
            multi_word = len(hit.tokens) > 1
            pos_factor = 1.0 if _starts_segment(hit) else 0.85 if multi_word else 0.45
            if seller_side and hit.start_token > 0 and lt.toks[hit.start_token - 1] in _THEIR:
                pos_factor *= 0.6  # "Your VAT number": the buyer's, not the seller's
            best: Candidate | None = None
            for region, placement in value_regions(hit, ctx, allow_left=allow_left):
                parsed = parse(region.text, ctx)
                if parsed is None:
                    continue
                value, start, end, quality = parsed
                bbox, source = region.sub(start, end)
                score = weight * pos_factor * placement * quality * _prior(spec, hit.line, ctx)
                if best is None or score > best.score:
                    best = Candidate(value, score, hit.line.page, bbox, source)
            if best is not None:  # one value per label occurrence: the best placed one
                out.append(best)
    return out


def _starts_segment(hit: LabelHit) -> bool:
    offsets = _word_offsets(hit.line)
    word_idx = next((i for i, (s, e) in enumerate(offsets) if s <= hit.char_start < e), 0)
    count = 0
    for seg in hit.line.segments:
        if word_idx < count + len(seg.words):
            if word_idx != count:
                return False
            s0 = offsets[count][0]
            prefix = hit.line.text[s0 : hit.char_start]
            return not any(ch.isalnum() for ch in prefix)
        count += len(seg.words)
    return True


def choose(cands: list[Candidate]) -> tuple[Candidate | None, float]:
    """Best candidate and a confidence that drops when a different value scores almost as well."""
    if not cands:
        return None, 0.0
    best_by_value: dict[str, Candidate] = {}
    support: Counter[str] = Counter()
    seen: set[tuple[str, int, BBox]] = set()
    for c in cands:
        key = fold(str(c.value))
        if (key, c.page, c.bbox) not in seen:  # two labels on one spot are one piece of evidence
            seen.add((key, c.page, c.bbox))
            support[key] += 1
        if key not in best_by_value or c.score > best_by_value[key].score:
            best_by_value[key] = c
    ranked = sorted(best_by_value.items(), key=lambda kv: -kv[1].score)
    key, top = ranked[0]
    conf = top.score
    if support[key] > 1:  # the same value found through several labels or places
        conf = 1 - (1 - conf) * 0.7 ** (support[key] - 1)
    if len(ranked) > 1:
        second = ranked[1][1].score
        conf *= 1 - 0.5 * (second / max(top.score, 1e-9)) ** 2
    return top, max(0.0, min(1.0, conf))


def to_result(path: str, cand: Candidate | None, conf: float, reason: str | None) -> FieldResult:
    if cand is None:
        return FieldResult(path=path, value=None, confidence=0.0, reason=reason)
    return FieldResult(
        path=path,
        value=cand.value,
        confidence=round(conf, 3),
        page=cand.page,
        bbox=tuple(round(c, 2) for c in cand.bbox),  # type: ignore[arg-type]
        source_text=cand.source_text,
    )
