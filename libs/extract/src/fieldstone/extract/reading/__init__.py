"""Turn input bytes into a :class:`~fieldstone.extract.layout.Document` of positioned words."""

from __future__ import annotations

import io
import time
import warnings
from typing import Any

from fieldstone.extract.errors import ExtractError
from fieldstone.extract.layout import Document, Page, group_lines
from fieldstone.extract.reading import ocr as ocr_mod
from fieldstone.extract.reading.detect import Kind, decode_text, detect_kind
from fieldstone.extract.reading.pages import parse_pages
from fieldstone.extract.reading.pdf import open_pdf, page_count, read_pdf_pages, render_page
from fieldstone.extract.reading.text import read_text_page

__all__ = ["Kind", "detect_kind", "parse_pages", "read_document"]

OCR_DPI = 200
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
        timings["read"] = (time.perf_counter() - t0) * 1000
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
    with open_pdf(data) as doc:
        count = page_count(doc)
        if count <= 0:
            raise ExtractError("EMPTY_DOCUMENT", "the PDF has no pages")
        selected = parse_pages(pages, count)
        _check_count(selected, max_pages)
        read = read_pdf_pages(doc, selected)
        timings["read"] = (time.perf_counter() - t0) * 1000
        t1 = time.perf_counter()
        result: list[Page] = []
        for page, scanned in read:
            if scanned:
                page = _ocr_pdf_page(doc, page) if use_ocr else _no_text(page, "OCR disabled")
            result.append(page)
        if any(p.source == "ocr" for p in result):
            timings["ocr"] = (time.perf_counter() - t1) * 1000
    return Document(pages=result, page_count=count, kind="pdf")


def _no_text(page: Page, why: str) -> Page:
    if not page.lines:
        page.source = "none"
        page.note = f"page {page.number} has no text layer ({why})"
    return page


def _ocr_pdf_page(doc: Any, page: Page) -> Page:
    if not ocr_mod.ocr_available():
        return _no_text(page, ocr_mod.ocr_unavailable_reason())
    try:
        image, scale = render_page(doc, page.number, OCR_DPI, MAX_RENDER_SIDE_PX)
        words = ocr_mod.ocr_image(image, scale)
    except Exception as exc:  # OCR is best effort: a failing page must not fail the document
        return _no_text(page, f"OCR failed: {type(exc).__name__}")
    if not words:
        return _no_text(page, "OCR found no text")
    return Page(page.number, page.width, page.height, group_lines(words, page.number), "ocr")


def _read_image(
    data: bytes, kind: Kind, pages: str | None, max_pages: int, use_ocr: bool, timings: dict[str, float]
) -> Document:
    from PIL import Image, ImageSequence

    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
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
                frame.load()
                # Coordinates for images are pixels (1 unit = 1 pixel), top-left origin.
                words = ocr_mod.ocr_image(frame, 1.0)
                page = Page(
                    number, float(frame.width), float(frame.height), group_lines(words, number), "ocr"
                )
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
