"""Arrays of objects from tables: a header row matched to the item fields, one row per item.

The header row gives the columns (each matched label claims the x-range of its words; unmatched header
words become columns nobody reads, so values under them are not attributed to a neighbour). Rows below are
cut into cells by those columns. A row with a description and at least one number is an item; a row with
only description text continues the previous item (multi-line descriptions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from fieldstone.extract.fields import Context, Parser, Region, is_header_row, parser_for
from fieldstone.extract.labels import FieldSpec, LineTokens, build_spec
from fieldstone.extract.layout import Line, Word, union_bbox
from fieldstone.extract.models import FieldResult, Variable
from fieldstone.extract.normalize import fold
from fieldstone.extract.values import find_numbers

_TEXT_KINDS = frozenset({"text", "name"})
_TOTAL_CONCEPTS = frozenset({"total", "subtotal", "tax_amount"})
MAX_ROWS = 2000
_QUOTED_NAME = re.compile("['\"\u2018\u201c]([^'\"\u2019\u201d]{2,40})['\"\u2019\u201d]")


@dataclass(slots=True)
class Column:
    x0: float
    x1: float
    spec: FieldSpec | None  # None: a header word no item field asked for
    quality: float


@dataclass(slots=True)
class Header:
    line: LineTokens
    columns: list[Column]
    score: float


def _match_tokens(lt: LineTokens, toks: tuple[str, ...]) -> list[tuple[int, int, float]]:
    """(first token, end token, quality) of each occurrence of a label in a line."""
    out: list[tuple[int, int, float]] = []
    n, k = len(lt.toks), len(toks)
    glued = "".join(toks)
    for i in range(n):
        if k > 1 and lt.toks[i] == glued:
            out.append((i, i + 1, 1.0))
            continue
        if i + k > n:
            continue
        q = 1.0
        for j in range(k):
            a, b = toks[j], lt.toks[i + j]
            if a == b:
                continue
            if len(a) >= 5 and len(b) >= 5 and fuzz.ratio(a, b) >= 88:
                q = min(q, 0.9)
                continue
            q = 0.0
            break
        if q > 0:
            out.append((i, i + k, q))
    return out


def _token_words(lt: LineTokens) -> list[int]:
    """Index of the word each token lies in."""
    offsets: list[tuple[int, int]] = []
    pos = 0
    for w in lt.line.words:
        offsets.append((pos, pos + len(w.text)))
        pos += len(w.text) + 1
    return [next((k for k, (s, e) in enumerate(offsets) if s <= start < e), 0) for _, start, _ in lt.spans]


def find_header(lt: LineTokens, specs: list[FieldSpec]) -> Header | None:
    if len(lt.toks) > 40 or any(n.has_fraction for n in find_numbers(lt.text)):
        return None  # a header names columns; it does not hold amounts
    tok_word = _token_words(lt)
    claims: list[tuple[float, int, int, FieldSpec]] = []  # (score, first word, last word, spec)
    for spec in specs:
        for label in spec.labels:
            for i, j, q in _match_tokens(lt, label.tokens):
                # Longer labels first: "Prijs incl. BTW" is the line total, not a "Prijs" (unit price).
                score = label.weight * q + 0.1 * (j - i)
                claims.append((score, tok_word[i], tok_word[j - 1], spec))
    assigned = _assign_labels(claims)
    used_words = {k for w0, w1, _, _ in assigned for k in range(w0, w1 + 1)}
    if len(assigned) < 2:
        return None
    words = lt.line.words
    segment_of = [k for k, seg in enumerate(lt.line.segments) for _ in seg.words]
    last_word = {w1: i for i, (_, w1, _, _) in enumerate(assigned)}
    columns = [Column(words[w0].x0, words[w1].x1, spec, q) for w0, w1, spec, q in assigned]
    # Header words no field claimed still delimit columns of their own, unless they trail a claimed
    # label in the same cell ("Prix unitaire HT", "Amount (EUR)"): then they widen that column.
    for k, w in enumerate(words):
        if k in used_words or not any(ch.isalnum() for ch in w.text):
            continue
        owner = last_word.get(k - 1)
        if owner is not None and len(segment_of) == len(words) and segment_of[k] == segment_of[k - 1]:
            columns[owner].x1 = w.x1
            last_word[k] = owner
            continue
        columns.append(Column(w.x0, w.x1, None, 0.0))
    columns.sort(key=lambda c: c.x0)
    merged: list[Column] = []
    for col in columns:  # neighbouring unclaimed words are one unclaimed column ("Rabatt %")
        if merged and col.spec is None and merged[-1].spec is None and col.x0 - merged[-1].x1 < 8:
            merged[-1].x1 = col.x1
        else:
            merged.append(col)
    return Header(lt, merged, sum(q for _, _, _, q in assigned))


Claim = tuple[float, int, int, FieldSpec]


def _assign_labels(claims: list[Claim]) -> list[tuple[int, int, FieldSpec, float]]:
    """Give each field at most one header cell, best labels first, then let a field that lost its only
    cell take it back when the winner has another cell ("Artikel" for the code when "Omschrijving" can
    hold the description)."""
    claims = sorted(claims, key=lambda c: -c[0])
    owner: dict[int, str] = {}  # word index -> spec path
    chosen: dict[str, Claim] = {}

    def free(c: Claim, ignore: str | None = None) -> bool:
        return all(owner.get(k) in (None, ignore) for k in range(c[1], c[2] + 1))

    def take(c: Claim) -> None:
        for k in range(c[1], c[2] + 1):
            owner[k] = c[3].path
        chosen[c[3].path] = c

    def release(path: str) -> None:
        c = chosen.pop(path)
        for k in range(c[1], c[2] + 1):
            owner.pop(k, None)

    for c in claims:
        if c[3].path not in chosen and free(c):
            take(c)
    for c in claims:
        path = c[3].path
        if path in chosen:
            continue
        blockers = {owner[k] for k in range(c[1], c[2] + 1) if k in owner}
        if len(blockers) != 1:
            continue
        other = blockers.pop()
        alternative = next(
            (
                a
                for a in claims
                if a[3].path == other
                and a is not chosen[other]
                and free(a, ignore=other)
                and not set(range(a[1], a[2] + 1)) & set(range(c[1], c[2] + 1))
            ),
            None,
        )
        if alternative is not None:
            release(other)
            take(c)
            take(alternative)
    return [(c[1], c[2], c[3], min(c[0], 1.0)) for c in chosen.values()]


def _assign(words: list[Word], columns: list[Column]) -> dict[int, list[Word]]:
    """Cells of a row: every word goes to the column whose header it overlaps or is nearest to."""
    cells: dict[int, list[Word]] = {}
    for w in words:
        best, best_key = 0, (float("inf"), 0.0)
        for k, col in enumerate(columns):
            overlap = min(w.x1, col.x1) - max(w.x0, col.x0)
            distance = 0.0 if overlap > 0 else min(abs(w.x0 - col.x1), abs(col.x0 - w.x1))
            key = (distance, -overlap)
            if key < best_key:
                best, best_key = k, key
        cells.setdefault(best, []).append(w)
    return cells


def _row_cells(line: Line, columns: list[Column]) -> dict[int, list[Word]]:
    """Assign whole segments when they sit under one column; split segments that straddle columns."""
    cells: dict[int, list[Word]] = {}
    for seg in line.segments:
        parts = _assign(seg.words, columns)
        fielded = sorted(k for k in parts if columns[k].spec is not None)
        if len(fielded) > 1 and _is_text_column(columns[fielded[0]]):
            # A description runs on to the right under other headers: keep the text together and
            # hand on only the numbers that trail it.
            cut = len(seg.words)
            while cut > 1 and find_numbers(seg.words[cut - 1].text):
                cut -= 1
            parts = {fielded[0]: list(seg.words[:cut])}
            for k, ws in _assign(list(seg.words[cut:]), columns).items():
                parts.setdefault(k, []).extend(ws)
        for k, ws in parts.items():
            cells.setdefault(k, []).extend(ws)
    return cells


def _is_text_column(col: Column) -> bool:
    return col.spec is not None and col.spec.kind in _TEXT_KINDS


@dataclass(slots=True)
class _Item:
    values: dict[str, Any]
    cells: dict[str, tuple[list[Word], str]]
    page: int


def _is_total_line(ctx: Context, line: Line) -> bool:
    """A line where some cell starts with a total, subtotal or tax label."""
    starts, pos = set(), 0
    for seg in line.segments:
        starts.add(pos)
        pos += len(seg.text) + 1
    for hit in ctx.matcher.line_hits(line):
        owners = ctx.matcher.owners.get(hit.tokens, set())
        if owners & _TOTAL_CONCEPTS and hit.char_start in starts:
            return True
    return False


def _parse_row(
    line: Line, header: Header, parsers: dict[str, Parser], ctx: Context
) -> tuple[dict[str, Any], dict[str, tuple[list[Word], str]], bool]:
    cells = _row_cells(line, header.columns)
    values: dict[str, Any] = {}
    sources: dict[str, tuple[list[Word], str]] = {}
    has_text = False
    for k, ws in cells.items():
        col = header.columns[k]
        if col.spec is None:
            continue
        region = Region(ws)
        parsed = parsers[col.spec.path](region.text, ctx)
        if parsed is None:
            continue
        value, start, end, _ = parsed
        bbox, src = region.sub(start, end)
        values[col.spec.var.key] = value
        sources[col.spec.var.key] = ([w for w in ws if _inside(w, bbox)] or ws, src)
        if _is_text_column(col):
            has_text = True
    return values, sources, has_text


def _inside(w: Word, bbox: tuple[float, float, float, float]) -> bool:
    return w.x0 >= bbox[0] - 0.5 and w.x1 <= bbox[2] + 0.5


def _rows_under(header: Header, specs: list[FieldSpec], ctx: Context) -> list[_Item]:
    parsers = {s.path: parser_for(s) for s in specs}
    text_specs = [c.spec for c in header.columns if _is_text_column(c)]
    numeric_columns = sum(1 for c in header.columns if c.spec is not None and c.spec.vtype == "number")
    # With several number columns a real item fills at least two of them (a lone number is a note).
    min_numbers = 2 if numeric_columns >= 2 else 1
    row_height = 0.0
    page_lines = ctx.lines_by_page.get(header.line.line.page, [])
    start = next((i for i, ln in enumerate(page_lines) if ln is header.line.line), len(page_lines))
    items: list[_Item] = []
    height = header.line.line.height
    last_y = header.line.line.y1
    misses = 0
    for line in page_lines[start + 1 :]:
        if not items and line.y0 - last_y < 6 * height:
            last_y = line.y1  # second header lines, notes between header and first item
        if line.y0 - last_y > 6 * height or misses > 3 or len(items) >= MAX_ROWS:
            break
        if is_header_row(line, ctx) and find_header(LineTokens(line), specs) is not None:
            break  # the next table starts
        values, sources, has_text = _parse_row(line, header, parsers, ctx)
        numbers = [k for k, v in values.items() if isinstance(v, int | float)]
        total_line = _is_total_line(ctx, line)
        is_item = len(numbers) >= min_numbers and (has_text or not text_specs) and not total_line
        if is_item and len(values) >= 2:
            items.append(_Item(values, sources, line.page))
            last_y, misses, row_height = line.y1, 0, line.height
            continue
        close = line.y0 - last_y < 1.6 * line.height
        same_font = abs(line.height - row_height) <= 0.1 * row_height
        if items and has_text and not numbers and close and same_font and not total_line:
            # Description text alone on the next line continues the previous item.
            prev = items[-1]
            for key, (ws, src) in sources.items():
                spec = next((s for s in text_specs if s is not None and s.var.key == key), None)
                if spec is not None and key in prev.values:
                    prev.values[key] = f"{prev.values[key]}\n{src}"
                    prev.cells[key] = (prev.cells[key][0] + ws, f"{prev.cells[key][1]}\n{src}")
            last_y = line.y1
            continue
        if items:
            misses += 1
    return items


def _section_start(var: Variable, ctx: Context) -> int:
    """Index of the line that a quoted name in the context ("listed in the 'Detail' section") refers to."""
    for m in _QUOTED_NAME.finditer(var.context):
        wanted = fold(m.group(1)).strip()
        for i, lt in enumerate(ctx.lines):
            if fold(lt.text).strip(" :") == wanted:
                return i + 1
    return 0


def _headerless_rows(var: Variable, specs: list[FieldSpec], ctx: Context) -> list[_Item]:
    """Lists without a header: "Name ....... $1.87" lines, one item each.

    Lines are grouped by indentation and font size; the group with the most distinct names wins, so
    repeated sub-lines ("Charges", "VAT") under each item do not count as items.
    """
    text_specs = [s for s in specs if s.kind in _TEXT_KINDS and s.vtype == "string"]
    number_specs = [s for s in specs if s.vtype == "number"]
    if len(text_specs) != 1 or not number_specs:
        return []
    groups: dict[tuple[int, int, int], list[_Item]] = {}
    for lt in ctx.lines[_section_start(var, ctx) :]:
        segs = lt.line.segments
        if len(segs) != 2 or not any(ch.isalpha() for ch in segs[0].text) or _is_total_line(ctx, lt.line):
            continue
        amounts = [n for n in find_numbers(segs[1].text, ctx.decimal) if not n.percent]
        if not amounts or find_numbers(segs[0].text, ctx.decimal):
            continue
        values: dict[str, Any] = {text_specs[0].var.key: segs[0].text}
        cells = {text_specs[0].var.key: (list(segs[0].words), segs[0].text)}
        for spec, n in zip(number_specs, amounts, strict=False):
            values[spec.var.key] = n.as_json()
            cells[spec.var.key] = (list(segs[1].words), segs[1].text[n.start : n.end])
        key = (lt.line.page, round(segs[0].x0 / 4), round(lt.line.height))
        groups.setdefault(key, []).append(_Item(values, cells, lt.line.page))
    best: list[_Item] = []
    for rows in groups.values():
        names = {fold(str(r.values[text_specs[0].var.key])) for r in rows}
        best_names = {fold(str(r.values[text_specs[0].var.key])) for r in best}
        if len(names) >= 2 and len(names) > len(best_names):
            best = rows
    return best[:MAX_ROWS]


def extract_rows(var: Variable, path: str, ctx: Context) -> tuple[list[dict[str, Any]], list[FieldResult]]:
    item_vars = [f for f in var.fields or [] if f.type not in ("object", "array")]
    specs = [build_spec(f"{path}[].{f.key}", f, in_table=True) for f in item_vars]
    if not specs:
        return [], []
    headers = [h for lt in ctx.lines if (h := find_header(lt, specs)) is not None]
    items: list[_Item] = []
    confidence: list[float] = []
    if headers:
        best = max(h.score for h in headers)
        # Tables continue over pages with their header repeated: keep every header nearly as good as the best.
        chosen = [h for h in headers if h.score >= best - 0.5 and h.score >= 1.5]
        for header in chosen:
            rows = _rows_under(header, specs, ctx)
            items.extend(rows)
            confidence.extend([min(0.95, 0.5 + 0.12 * header.score)] * len(rows))
    if not items:
        items = _headerless_rows(var, specs, ctx)
        confidence = [0.45] * len(items)
    data: list[dict[str, Any]] = []
    results: list[FieldResult] = []
    for i, (item, conf) in enumerate(zip(items, confidence, strict=True)):
        row: dict[str, Any] = {}
        for f in var.fields or []:
            value = item.values.get(f.key)
            if f.type == "string" and value is not None and not isinstance(value, str):
                value = str(value)
            if f.type == "number" and isinstance(value, str):
                value = None
            row[f.key] = None if f.type in ("object", "array") else value
            cell = item.cells.get(f.key)
            if value is None or cell is None:
                results.append(FieldResult(f"{path}[{i}].{f.key}", None, 0.0, reason="no value in this row"))
                continue
            ws, src = cell
            bbox = union_bbox(ws)
            results.append(
                FieldResult(
                    f"{path}[{i}].{f.key}", value, round(conf, 3), item.page, bbox, src.replace("\n", " ")
                )
            )
        data.append(row)
    return data, results
