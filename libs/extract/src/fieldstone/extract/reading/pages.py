"""Page-range selection ("1-3,5")."""

from __future__ import annotations

import re

from fieldstone.extract.errors import ExtractError

_PART = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d*)\s*)?$")


def parse_pages(spec: str | None, page_count: int) -> list[int]:
    """Return the sorted, de-duplicated 1-based pages selected by ``spec`` (all pages when None/blank).

    ``"2-"`` means from page 2 to the end. Pages outside the document are an error rather than being
    silently dropped, so a caller never receives data from pages it did not ask for.
    """
    if spec is None or not spec.strip():
        return list(range(1, page_count + 1))
    if len(spec) > 1000:
        raise ExtractError("INVALID_PAGES", "page selection is too long")
    selected: set[int] = set()
    for part in spec.split(","):
        match = _PART.match(part)
        if not match:
            raise ExtractError("INVALID_PAGES", f"invalid page selection {spec!r}: expected e.g. '1-3,5'")
        start = int(match.group(1))
        end_text = match.group(2)
        if end_text is None:
            end = start
        elif end_text == "":
            end = page_count
        else:
            end = int(end_text)
        if start < 1 or end < start:
            raise ExtractError("INVALID_PAGES", f"invalid page range {part.strip()!r}")
        if end > page_count:
            raise ExtractError(
                "INVALID_PAGES", f"page {end} is out of range: the document has {page_count} page(s)"
            )
        selected.update(range(start, end + 1))
    return sorted(selected)
