"""Plain-text input: one page with synthetic, monospaced word boxes."""

from __future__ import annotations

import re

from fieldstone.extract.layout import Page, Word, group_lines

# A monospaced grid makes column alignment in text files (reports, fixed-width invoices) usable
# by the same layout code as PDFs: two or more spaces become a segment gap, one space does not.
CHAR_WIDTH = 6.0
LINE_HEIGHT = 12.0
MAX_LINES = 10_000  # a text "page" longer than this is not an invoice; the rest is ignored
MAX_LINE_CHARS = 2_000

_WORD = re.compile(r"\S+")


def read_text_page(text: str) -> Page:
    words: list[Word] = []
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:MAX_LINES]
    width = 0
    for row, raw in enumerate(raw_lines):
        line = raw.expandtabs(8)[:MAX_LINE_CHARS]
        width = max(width, len(line))
        y0 = row * LINE_HEIGHT + 1.0
        for match in _WORD.finditer(line):
            x0 = match.start() * CHAR_WIDTH
            words.append(Word(match.group(), x0, y0, match.end() * CHAR_WIDTH, y0 + LINE_HEIGHT - 2.0))
    lines = group_lines(words, 1)
    return Page(
        number=1,
        width=max(width, 1) * CHAR_WIDTH,
        height=max(len(raw_lines), 1) * LINE_HEIGHT,
        lines=lines,
        source="text",
    )
