from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from fieldstone.extract import ExtractError, extract
from fieldstone.extract.reading import detect_kind, parse_pages, read_document

VARS = [{"key": "invoice_number", "type": "string", "context": "Invoice number"}]


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7\n...", "pdf"),
        (b"junk\n%PDF-1.4\n", "pdf"),
        (b"\x89PNG\r\n\x1a\n....", "png"),
        (b"\xff\xd8\xff\xe0....", "jpeg"),
        (b"II*\x00....", "tiff"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        ("Rechnung Nr. 5 \u2013 Größe".encode(), "text"),
    ],
)
def test_detect_kind(data: bytes, kind: str) -> None:
    assert detect_kind(data) == kind


def test_parse_pages() -> None:
    assert parse_pages(None, 3) == [1, 2, 3]
    assert parse_pages("1-3,5", 6) == [1, 2, 3, 5]
    assert parse_pages(" 2 , 2-3 ", 4) == [2, 3]
    assert parse_pages("3-", 5) == [3, 4, 5]
    for bad in ("0", "3-1", "a", "1,,2", "7", "1-9"):
        with pytest.raises(ExtractError) as err:
            parse_pages(bad, 6)
        assert err.value.code == "INVALID_PAGES"


def test_plain_text_one_page_with_boxes() -> None:
    doc = read_document(b"Invoice number: INV-7\n\nTotal   12,50 EUR\n")
    assert doc.page_count == 1 and doc.kind == "text"
    texts = [line.text for line in doc.pages[0].lines]
    assert texts == ["Invoice number: INV-7", "Total 12,50 EUR"]
    total = doc.pages[0].lines[1]
    assert [s.text for s in total.segments] == ["Total", "12,50 EUR"]  # a wide gap splits segments


def test_pdf_words_lines_and_page_selection(pdf_maker: Callable[..., bytes]) -> None:
    data = pdf_maker([[(20, 20, "Page one: alpha beta")], [(20, 20, "Page two")], [(20, 20, "Page three")]])
    doc = read_document(data, pages="1,3")
    assert doc.page_count == 3
    assert [p.number for p in doc.pages] == [1, 3]
    line = doc.pages[0].lines[0]
    assert line.text == "Page one: alpha beta"
    x0, y0, x1, y1 = line.bbox
    # fpdf2 places the baseline at y=20 mm (56.7 pt) from the top; the box surrounds it.
    assert 50 < x0 < 62 and 40 < y0 < 57 < y1 < 62 and x1 > x0


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "EMPTY_DOCUMENT"),
        (b"   \n\t  ", "EMPTY_DOCUMENT"),
        (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", "UNREADABLE_PDF"),
        (os.urandom(0) + bytes(range(256)) * 8, "UNSUPPORTED_TYPE"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "UNSUPPORTED_TYPE"),
    ],
)
def test_hostile_inputs_raise_extract_error(data: bytes, code: str) -> None:
    with pytest.raises(ExtractError) as err:
        extract(data, VARS)
    assert err.value.code == code
    assert err.value.message


def test_truncated_and_random_pdfs(invoice_pdf: bytes) -> None:
    import random

    rng = random.Random(1234)
    for cut in (10, 200, len(invoice_pdf) // 2, len(invoice_pdf) - 30):
        try:
            extract(invoice_pdf[:cut], VARS)  # PDFium can repair some truncations: fine either way
        except ExtractError as exc:
            assert exc.code in {"UNREADABLE_PDF", "EMPTY_DOCUMENT"}
    for _ in range(20):
        junk = b"%PDF-1.5\n" + bytes(rng.getrandbits(8) for _ in range(rng.randint(10, 3000)))
        with pytest.raises(ExtractError) as err:
            extract(junk, VARS)
        assert err.value.code in {"UNREADABLE_PDF", "EMPTY_DOCUMENT"}


def test_encrypted_pdf(pdf_maker: Callable[..., bytes]) -> None:
    data = pdf_maker([[(20, 20, "Invoice number: SECRET-1")]], encrypt="s3cret")
    with pytest.raises(ExtractError) as err:
        extract(data, VARS)
    assert err.value.code == "ENCRYPTED_PDF"


def test_too_many_pages(pdf_maker: Callable[..., bytes]) -> None:
    data = pdf_maker([[(20, 20, f"Page {i}")] for i in range(5)])
    with pytest.raises(ExtractError) as err:
        extract(data, VARS, max_pages=3)
    assert err.value.code == "TOO_MANY_PAGES"
    assert extract(data, VARS, pages="1-3", max_pages=3).page_count == 5


def test_invalid_pages_through_extract(invoice_pdf: bytes) -> None:
    with pytest.raises(ExtractError) as err:
        extract(invoice_pdf, VARS, pages="2")
    assert err.value.code == "INVALID_PAGES"


def test_image_without_ocr_is_unsupported_or_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    from io import BytesIO

    from PIL import Image

    from fieldstone.extract.reading import ocr

    buf = BytesIO()
    Image.new("RGB", (50, 20), "white").save(buf, format="PNG")
    monkeypatch.setattr(ocr, "ocr_available", lambda: False)
    with pytest.raises(ExtractError) as err:
        extract(buf.getvalue(), VARS)
    assert err.value.code == "UNSUPPORTED_TYPE"


def test_scanned_pdf_without_ocr_gives_nulls_with_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from fpdf import FPDF
    from PIL import Image

    from fieldstone.extract.reading import ocr

    pdf = FPDF(unit="mm", format="A4")
    pdf.add_page()
    pdf.image(Image.new("RGB", (400, 560), "white"), x=0, y=0, w=210, h=297)
    monkeypatch.setattr(ocr, "ocr_available", lambda: False)
    out = extract(bytes(pdf.output()), [*VARS, {"key": "total", "type": "number", "context": "Total"}])
    assert out.extracted_data == {"invoice_number": None, "total": None}
    assert all(f.reason and "no text" in f.reason for f in out.fields)


def test_rotated_page_is_read_upright() -> None:
    """A landscape scan stored sideways with /Rotate 90: words and boxes are in the displayed page."""
    import io

    import pypdfium2 as pdfium
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    with pdf.rotation(90, x=100, y=700):  # drawn bottom-to-top; /Rotate 90 turns it upright
        pdf.text(100, 700, "Invoice number: ROT-1")
    doc = pdfium.PdfDocument(bytes(pdf.output()))
    doc[0].set_rotation(90)
    buf = io.BytesIO()
    doc.save(buf)
    out = extract(buf.getvalue(), VARS)
    assert out.extracted_data["invoice_number"] == "ROT-1"
    x0, y0, x1, y1 = _bbox(out)
    # Displayed, the page is 842 x 595 pt and the text runs left to right.
    assert 0 <= x0 < x1 <= 842 and 0 <= y0 < y1 <= 595 and x1 - x0 > 1.5 * (y1 - y0)


def _bbox(out: object) -> tuple[float, float, float, float]:
    field = next(f for f in out.fields if f.path == "invoice_number")  # type: ignore[attr-defined]
    assert field.bbox is not None
    return field.bbox  # type: ignore[no-any-return]
