"""Turn input bytes into a :class:`~fieldstone.extract.layout.Document` of positioned words."""

from __future__ import annotations

import io
import os
import time
import warnings
from typing import Any

from fieldstone.extract.errors import ExtractError
from fieldstone.extract.layout import BBox, Document, Page, Word, group_lines
from fieldstone.extract.reading import ocr as ocr_mod
from fieldstone.extract.reading.detect import Kind, decode_text, detect_kind
from fieldstone.extract.reading.pages import parse_pages
from fieldstone.extract.reading.pdf import open_pdf, page_count, read_pdf_page, render_page
from fieldstone.extract.reading.text import read_text_page

__all__ = ["Kind", "detect_kind", "parse_pages", "read_document"]

# Scanned pages are rendered at this resolution for OCR (300 dpi measured no better, and slower).
OCR_DPI = int(os.environ.get("FIELDSTONE_OCR_DPI", "200"))
# Images covering at least this share of a page with text get OCR'd too (text pasted in as a picture);
# logos are smaller. At most this many such images per document, since each costs seconds.
IMAGE_OCR_MIN_FRACTION = 0.06
MAX_IMAGE_REGIONS_OCR = 3
MAX_RENDER_SIDE_PX = 5000
# Images larger than this are refused rather than decoded (decompression bombs).
MAX_IMAGE_PIXELS = 60_000_000


def read_document(
    data: bytes,
    *,
    pages: str | None = None,
    filename: str | None = None,
    content_type: str | None = None,
    max_pages: int = 500,
    use_ocr: bool = True,
    timings: dict[str, float] | None = None,
) -> Document:
    timings = timings if timings is not None else {}
    kind = detect_kind(data, filename=filename, content_type=content_type)
    if kind == "pdf":
        return _read_pdf(data, pages, max_pages, use_ocr, timings)
    if kind == "text":
        text = decode_text(data)
        if not text.strip():
            raise ExtractError("EMPTY_DOCUMENT", "the text document is empty")
        parse_pages(pages, 1)
        t0 = time.perf_counter()
        page = read_text_page(text)
        timings["read"] = page.read_ms = (time.perf_counter() - t0) * 1000
        page.read_started = t0
        return Document(pages=[page], page_count=1, kind="text")
    return _read_image(data, kind, pages, max_pages, use_ocr, timings)


def _check_count(selected: list[int], max_pages: int) -> None:
    if len(selected) > max_pages:
        raise ExtractError(
            "TOO_MANY_PAGES",
            f"{len(selected)} pages selected, at most {max_pages} are processed per document",
        )


def _read_pdf(
    data: bytes, pages: str | None, max_pages: int, use_ocr: bool, timings: dict[str, float]
) -> Document:
    t0 = time.perf_counter()
    ocr_ms = 0.0
    with open_pdf(data) as doc:
        count = page_count(doc)
        if count <= 0:
            raise ExtractError("EMPTY_DOCUMENT", "the PDF has no pages")
        selected = parse_pages(pages, count)
        _check_count(selected, max_pages)
        result: list[Page] = []
        image_budget = MAX_IMAGE_REGIONS_OCR
        for number in selected:
            p0 = time.perf_counter()
            item = read_pdf_page(doc, number)
            page = item.page
            p1 = time.perf_counter()
            if item.scanned:
                if not use_ocr:
                    page = _no_text(page, "OCR disabled")
                elif item.max_image_pixels > MAX_IMAGE_PIXELS:
                    page = _no_text(page, "its image is too large to OCR")
                else:
                    page = _ocr_pdf_page(doc, page)
                    page.ocr = ocr_mod.ocr_available()
            elif use_ocr and image_budget > 0:
                big = [
                    r for r in item.images if _area(r) >= IMAGE_OCR_MIN_FRACTION * page.width * page.height
                ]
                if (
                    big[:image_budget]
                    and item.max_image_pixels <= MAX_IMAGE_PIXELS
                    and ocr_mod.ocr_available()
                ):
                    page = _ocr_image_regions(doc, page, big[:image_budget])
                    page.ocr = True
                    image_budget -= len(big)
            if not page.lines:
                _no_text(page, "the page is empty")
            p2 = time.perf_counter()
            if page.ocr:
                page.ocr_ms = (p2 - p1) * 1000
                ocr_ms += page.ocr_ms
            page.read_ms = (p2 - p0) * 1000
            page.read_started = p0
            result.append(page)
    timings["read"] = (time.perf_counter() - t0) * 1000 - ocr_ms
    if any(p.ocr for p in result):
        timings["ocr"] = ocr_ms
    return Document(pages=result, page_count=count, kind="pdf")


def _no_text(page: Page, why: str) -> Page:
    if not page.lines and page.note is None:
        page.source = "none"
        page.note = f"page {page.number} has no text ({why})"
    return page


def _ocr_pdf_page(doc: Any, page: Page) -> Page:
    if not ocr_mod.ocr_available():
        return _no_text(page, ocr_mod.ocr_unavailable_reason())
    try:
        image, scale = render_page(doc, page.number, OCR_DPI, MAX_RENDER_SIDE_PX)
        words = ocr_mod.ocr_image(image, scale, scale * 72)
    except Exception as exc:  # OCR is best effort: a failing page must not fail the document
        return _no_text(page, f"OCR failed: {type(exc).__name__}")
    if not words:
        return _no_text(page, "OCR found no text")
    return Page(page.number, page.width, page.height, group_lines(words, page.number), "ocr")


def _area(r: BBox) -> float:
    return max(r[2] - r[0], 0.0) * max(r[3] - r[1], 0.0)


def _ocr_image_regions(doc: Any, page: Page, rects: list[BBox]) -> Page:
    """OCR large images on a page that also has text (e.g. seller details pasted in as a picture).

    Only OCR words inside the images and not on top of existing text are added.
    """
    try:
        image, scale = render_page(doc, page.number, OCR_DPI, MAX_RENDER_SIDE_PX)
    except Exception:
        return page
    words = [w for line in page.lines for w in line.words]
    added: list[Word] = []
    for x0, y0, x1, y1 in rects:
        box = (
            max(int(x0 * scale) - 4, 0),
            max(int(y0 * scale) - 4, 0),
            min(int(x1 * scale) + 4, image.width),
            min(int(y1 * scale) + 4, image.height),
        )
        if box[2] - box[0] < 16 or box[3] - box[1] < 16:
            continue
        try:
            found = ocr_mod.ocr_image(image.crop(box), scale, scale * 72)
        except Exception:  # OCR is best effort
            continue
        dx, dy = box[0] / scale, box[1] / scale
        for w in found:
            moved = Word(w.text, w.x0 + dx, w.y0 + dy, w.x1 + dx, w.y1 + dy)
            if not any(_overlaps(moved, t) for t in words):
                added.append(moved)
    if not added:
        return page
    return Page(page.number, page.width, page.height, group_lines(words + added, page.number), page.source)


def _overlaps(a: Word, b: Word) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > 0 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0


def _image_dpi(image: Any) -> float | None:
    dpi = image.info.get("dpi")
    try:
        value = float(dpi[0]) if isinstance(dpi, tuple) else float(dpi) if dpi else None
    except (TypeError, ValueError):
        return None
    return value if value and 50 <= value <= 2400 else None


def _read_image(
    data: bytes, kind: Kind, pages: str | None, max_pages: int, use_ocr: bool, timings: dict[str, float]
) -> Document:
    from PIL import Image, ImageSequence

    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # e.g. corrupt EXIF: read the pixels anyway
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # lazy: reads the header only
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise ExtractError("UNSUPPORTED_TYPE", "the image is too large to process")
            frames = getattr(image, "n_frames", 1)
            selected = parse_pages(pages, frames)
            _check_count(selected, max_pages)
            if not use_ocr or not ocr_mod.ocr_available():
                why = "OCR disabled" if not use_ocr else ocr_mod.ocr_unavailable_reason()
                raise ExtractError("UNSUPPORTED_TYPE", f"{kind.upper()} input needs OCR: {why}")
            result: list[Page] = []
            for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
                if number not in selected:
                    continue
                p0 = time.perf_counter()
                if frame.width * frame.height > MAX_IMAGE_PIXELS:
                    raise ExtractError("UNSUPPORTED_TYPE", f"image frame {number} is too large to process")
                frame.load()
                # Coordinates for images are pixels (1 unit = 1 pixel), top-left origin.
                words = ocr_mod.ocr_image(frame, 1.0, _image_dpi(frame))
                page = Page(
                    number, float(frame.width), float(frame.height), group_lines(words, number), "ocr"
                )
                page.ocr = True
                page.read_ms = page.ocr_ms = (time.perf_counter() - p0) * 1000
                page.read_started = p0
                result.append(_no_text(page, "OCR found no text"))
    except ExtractError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ExtractError("UNSUPPORTED_TYPE", "the image is too large to process") from None
    except Exception as exc:
        raise ExtractError(
            "UNSUPPORTED_TYPE", f"the {kind.upper()} image could not be decoded: {exc}"
        ) from None
    timings["ocr"] = (time.perf_counter() - t0) * 1000
    return Document(pages=result, page_count=frames, kind=kind)
