"""Page layout: words with boxes, grouped into lines and gap-separated segments.

All coordinates are PDF points with a top-left origin (y grows downwards), whatever the source.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

BBox = tuple[float, float, float, float]
PageSource = Literal["pdf", "ocr", "text", "none"]


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def height(self) -> float:
        return max(self.y1 - self.y0, 0.1)

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


def union_bbox(words: Iterable[Word]) -> BBox:
    ws = list(words)
    return (min(w.x0 for w in ws), min(w.y0 for w in ws), max(w.x1 for w in ws), max(w.y1 for w in ws))


@dataclass(slots=True)
class Segment:
    """A run of words on one line with no wide gap inside (a cell, a label or a value)."""

    words: list[Word]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def bbox(self) -> BBox:
        return union_bbox(self.words)

    @property
    def x0(self) -> float:
        return self.words[0].x0

    @property
    def x1(self) -> float:
        return self.words[-1].x1


@dataclass(slots=True)
class Line:
    page: int
    index: int
    words: list[Word]
    segments: list[Segment] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def bbox(self) -> BBox:
        return union_bbox(self.words)

    @property
    def y0(self) -> float:
        return min(w.y0 for w in self.words)

    @property
    def y1(self) -> float:
        return max(w.y1 for w in self.words)

    @property
    def height(self) -> float:
        return max(self.y1 - self.y0, 0.1)


@dataclass(slots=True)
class Page:
    number: int  # 1-based, as in the source document
    width: float
    height: float
    lines: list[Line]
    source: PageSource
    note: str | None = None  # why a page has no text (no OCR, OCR failed, ...)
    read_ms: float = 0.0  # time spent reading this page (text layer, decoding, rendering and OCR)
    ocr: bool = False  # whether OCR ran on the page (the whole page or images on it)
    ocr_ms: float = 0.0  # the part of read_ms spent in OCR
    read_started: float = 0.0  # time.perf_counter() when reading the page began (for trace spans)


@dataclass(slots=True)
class Document:
    pages: list[Page]
    page_count: int  # pages in the source document, not only the selected ones
    kind: str

    def iter_lines(self) -> Iterable[Line]:
        for page in self.pages:
            yield from page.lines

    def page(self, number: int) -> Page | None:
        return next((p for p in self.pages if p.number == number), None)


def _vertical_overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def group_lines(words: Sequence[Word], page: int) -> list[Line]:
    """Group words into visual lines by vertical overlap, then order lines top to bottom."""
    if not words:
        return []
    ordered = sorted(words, key=lambda w: (round(w.cy, 1), w.x0))
    rows: list[list[Word]] = []
    bounds: list[tuple[float, float]] = []  # (y0, y1) of the core of each row
    for w in ordered:
        best, best_ratio = -1, 0.0
        # Only recent rows can overlap: words are sorted by centre, so scan back a few rows.
        for i in range(len(rows) - 1, max(-1, len(rows) - 6), -1):
            y0, y1 = bounds[i]
            ratio = _vertical_overlap(y0, y1, w.y0, w.y1) / max(min(y1 - y0, w.height), 0.1)
            if ratio > best_ratio:
                best, best_ratio = i, ratio
        if best >= 0 and best_ratio >= 0.5:
            rows[best].append(w)
            y0, y1 = bounds[best]
            # Keep the row's band from drifting with tall glyphs: use the median-ish band of its words.
            bounds[best] = (
                min(y0, w.y0) if w.height <= (y1 - y0) * 1.5 else y0,
                max(y1, w.y1) if w.height <= (y1 - y0) * 1.5 else y1,
            )
        else:
            rows.append([w])
            bounds.append((w.y0, w.y1))
    rows.sort(key=lambda r: (statistics.median(w.cy for w in r), min(w.x0 for w in r)))
    lines: list[Line] = []
    for i, row in enumerate(rows):
        row.sort(key=lambda w: w.x0)
        line = Line(page=page, index=i, words=row)
        line.segments = split_segments(row)
        lines.append(line)
    return lines


def split_segments(words: Sequence[Word]) -> list[Segment]:
    """Split a line at gaps wider than roughly one em (column gaps, label/value gaps)."""
    if not words:
        return []
    heights = sorted(w.height for w in words)
    em = heights[len(heights) // 2]
    segments: list[Segment] = [Segment([words[0]])]
    for prev, cur in itertools.pairwise(words):
        gap = cur.x0 - prev.x1
        if gap > 0.9 * em:
            segments.append(Segment([cur]))
        else:
            segments[-1].words.append(cur)
    return segments
