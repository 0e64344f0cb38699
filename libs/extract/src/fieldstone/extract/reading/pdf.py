"""PDF text layer with word boxes via pypdfium2 (PDFium)."""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from fieldstone.extract.errors import ExtractError
from fieldstone.extract.layout import BBox, Page, Word, group_lines

# PDFium is not thread-safe: every call into it, from any thread, must hold this lock.
PDFIUM_LOCK = threading.RLock()

# A hostile page can carry millions of glyphs; beyond this the rest of the page is ignored.
MAX_CHARS_PER_PAGE = 200_000
# Pages with fewer visible characters than this are treated as having no text layer (scans).
MIN_TEXT_CHARS = 8
MAX_IMAGES_PER_PAGE = 50

_FPDF_ERR_PASSWORD = 4
_FPDF_ERR_SECURITY = 6

Affine = tuple[float, float, float, float, float, float]


@contextmanager
def open_pdf(data: bytes) -> Iterator[Any]:
    """Open a PDF from bytes, mapping PDFium failures to :class:`ExtractError`."""
    with PDFIUM_LOCK:
        try:
            doc = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if exc.err_code in (_FPDF_ERR_PASSWORD, _FPDF_ERR_SECURITY):
                raise ExtractError("ENCRYPTED_PDF", "the PDF is encrypted and needs a password") from None
            raise ExtractError("UNREADABLE_PDF", f"the PDF could not be read: {exc}") from None
        except Exception as exc:  # PDFium bindings raise assorted errors on garbage input
            raise ExtractError("UNREADABLE_PDF", f"the PDF could not be read: {exc}") from None
    try:
        yield doc
    finally:
        with PDFIUM_LOCK:
            doc.close()


def page_count(doc: Any) -> int:
    with PDFIUM_LOCK:
        return len(doc)


def _page_transform(page: Any) -> tuple[Affine, float, float]:
    """Affine map from PDF user space to the displayed page: top-left origin, /Rotate applied."""
    x0, y0, x1, y1 = page.get_bbox()  # effective crop box (inherited boxes resolved)
    width, height = x1 - x0, y1 - y0
    rotation = page.get_rotation() % 360
    if rotation == 90:  # clockwise: the unrotated left edge becomes the top
        return (0.0, 1.0, -y0, 1.0, 0.0, -x0), height, width
    if rotation == 180:
        return (-1.0, 0.0, x1, 0.0, 1.0, -y0), width, height
    if rotation == 270:
        return (0.0, -1.0, y1, -1.0, 0.0, x1), height, width
    return (1.0, 0.0, -x0, 0.0, -1.0, y1), width, height


def _apply(m: Affine, x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]


def _is_break(ch: str) -> bool:
    return ch.isspace() or ord(ch) < 32 or ch in "\ufffe\uffff\u00a0"


@dataclass(slots=True)
class PageRead:
    """What one page's text layer gave: words, size, visible characters and image rectangles."""

    page: Page
    visible: int
    images: list[BBox]
    max_image_pixels: int = 0  # the largest embedded image, in its own pixels (bombs are not rendered)

    @property
    def scanned(self) -> bool:
        """No text layer to speak of, but an image: a scan that needs OCR."""
        return self.visible < MIN_TEXT_CHARS and bool(self.images)


def _image_rects(page: Any, matrix: Affine) -> tuple[list[BBox], int]:
    rects: list[BBox] = []
    largest = 0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3):
        left, bottom, right, top = obj.get_bounds()
        xa, ya = _apply(matrix, left, top)
        xb, yb = _apply(matrix, right, bottom)
        rects.append((min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)))
        try:
            px_w, px_h = obj.get_px_size()
            largest = max(largest, int(px_w) * int(px_h))
        except Exception:  # not an image PDFium can describe: treat it as small
            pass
        if len(rects) >= MAX_IMAGES_PER_PAGE:
            break
    return rects, largest


def read_page(doc: Any, number: int) -> PageRead:
    """Words and images of one page (1-based ``number``)."""
    with PDFIUM_LOCK:
        page = doc[number - 1]
        try:
            matrix, width, height = _page_transform(page)
            textpage = page.get_textpage()
            try:
                words, visible = _words_from_textpage(textpage, matrix)
            finally:
                textpage.close()
            images, largest = _image_rects(page, matrix)
        finally:
            page.close()
    lines = group_lines(words, number)
    return PageRead(
        Page(number=number, width=width, height=height, lines=lines, source="pdf"), visible, images, largest
    )


def _words_from_textpage(textpage: Any, matrix: Affine) -> tuple[list[Word], int]:
    count = min(pdfium_c.FPDFText_CountChars(textpage), MAX_CHARS_PER_PAGE)
    if count <= 0:
        return [], 0
    get_unicode: Callable[[Any, int], int] = pdfium_c.FPDFText_GetUnicode
    get_box = pdfium_c.FPDFText_GetCharBox
    get_loose = pdfium_c.FPDFText_GetLooseCharBox
    left, right, bottom, top = ctypes.c_double(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    rect = pdfium_c.FS_RECTF()

    words: list[Word] = []
    chars: list[str] = []
    box: list[float] = []  # x0, y0, x1, y1 of the current word
    last_x1 = 0.0
    visible = 0

    def flush() -> None:
        if chars:
            words.append(Word("".join(chars), box[0], box[1], box[2], box[3]))
            chars.clear()

    for i in range(count):
        code = get_unicode(textpage, i)
        ch = chr(code) if 0 < code < 0x110000 else " "
        if _is_break(ch) or not get_box(textpage, i, left, right, bottom, top):
            flush()
            continue
        visible += 1
        # Loose boxes span the glyph's advance and the font's ascent..descent: tight boxes would open
        # gaps beside narrow glyphs ("1") and split numbers apart.
        if get_loose(textpage, i, rect):
            lft, rgt, top_, bot = rect.left, rect.right, rect.top, rect.bottom
        else:
            lft, rgt, top_, bot = left.value, right.value, top.value, bottom.value
        xa, ya = _apply(matrix, lft, top_)
        xb, yb = _apply(matrix, rgt, bot)
        x0, x1, y0, y1 = min(xa, xb), max(xa, xb), min(ya, yb), max(ya, yb)
        if chars:
            h = box[3] - box[1]
            same_line = min(box[3], y1) - max(box[1], y0) > 0.5 * min(h, y1 - y0)
            # PDFs often position glyphs without space characters: a wide jump starts a new word.
            if not same_line or x0 - last_x1 > 0.25 * h or x1 < box[0] - 0.5 * h:
                flush()
        if not chars:
            box[:] = [x0, y0, x1, y1]
        else:
            box[:] = [min(box[0], x0), min(box[1], y0), max(box[2], x1), max(box[3], y1)]
        chars.append(ch)
        last_x1 = x1
    flush()
    return words, visible


def read_pdf_page(doc: Any, number: int) -> PageRead:
    """:func:`read_page`, with PDFium failures mapped to :class:`ExtractError`."""
    try:
        return read_page(doc, number)
    except ExtractError:
        raise
    except Exception as exc:
        raise ExtractError("UNREADABLE_PDF", f"page {number} could not be read: {exc}") from None


def read_pdf_pages(doc: Any, numbers: Sequence[int]) -> list[PageRead]:
    return [read_pdf_page(doc, number) for number in numbers]


def render_page(doc: Any, number: int, dpi: float, max_side_px: int) -> Any:
    """Render a page to a PIL image, capping the pixel size (decompression-bomb-like page sizes)."""
    with PDFIUM_LOCK:
        page = doc[number - 1]
        try:
            width, height = page.get_size()
            scale = dpi / 72
            longest = max(width, height) * scale
            if longest > max_side_px:
                scale *= max_side_px / longest
            bitmap = page.render(scale=scale)
            try:
                return bitmap.to_pil(), scale
            finally:
                bitmap.close()
        finally:
            page.close()
