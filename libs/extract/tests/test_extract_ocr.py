"""OCR: the engine-independent parts (TSV, scaling, grey, deskew) with a fake engine, and a small real run."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from typing import Any

import pytest
from fs_extract_pdfs import INVOICE_ROWS, INVOICE_VARIABLES, make_pdf

from fieldstone.extract import ExtractError, extract
from fieldstone.extract.reading import ocr
from fieldstone.extract.reading.ocr import OcrWord


@pytest.fixture
def restore_engine() -> Iterator[None]:
    yield
    ocr.use_engine(None)


class FakeEngine:
    """Returns fixed words (pixel boxes) whatever the image: tests the reading path without OCR."""

    name = "fake"

    def __init__(self, lines: list[tuple[int, int, str]]) -> None:
        self.lines = lines
        self.seen: list[tuple[tuple[int, int], float]] = []

    def recognize(self, image: Any, dpi: float) -> list[OcrWord]:
        self.seen.append((image.size, dpi))
        words = []
        for n, (x, y, text) in enumerate(self.lines):
            for token in text.split():
                words.append(OcrWord(token, x, y, x + 18 * len(token), y + 30, 0.95, n))
                x += 18 * len(token) + 18
        return words


def _png(size: tuple[int, int] = (1654, 2339), dpi: int | None = 200) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    kwargs = {"dpi": (dpi, dpi)} if dpi else {}
    Image.new("RGB", size, "white").save(buf, format="PNG", **kwargs)
    return buf.getvalue()


TSV_HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([TSV_HEADER], []),
        (["1\t1\t0\t0\t0\t0\t0\t0\t1654\t2339\t-1\t"], []),  # page row
        (["5\t1\t1\t1\t1\t1\t10\t20\t100\t30\t96.5\tInvoice"], [("Invoice", 10, 20, 110, 50, 0.965)]),
        (["5\t1\t1\t1\t1\t2\t10\t20\t100\t30\t-1\t "], []),  # empty word
        (["5\t1\t1\t1\t1\t1\tx\t20\t100\t30\t90\tbad"], []),  # broken number
        (["5\t1\t2\t1\t3\t1\t0\t0\t5\t5\t50\tÄrger"], [("Ärger", 0, 0, 5, 5, 0.5)]),
    ],
)
def test_parse_tsv(rows: list[str], expected: list[tuple[Any, ...]]) -> None:
    words = ocr.parse_tsv("\n".join(rows))
    assert [(w.text, w.x0, w.y0, w.x1, w.y1, w.conf) for w in words] == expected


def test_parse_tsv_groups_lines() -> None:
    rows = [
        "5\t1\t1\t1\t1\t1\t0\t0\t5\t5\t90\ta",
        "5\t1\t1\t1\t1\t2\t9\t0\t5\t5\t90\tb",
        "5\t1\t1\t1\t2\t1\t0\t9\t5\t5\t90\tc",
        "5\t1\t2\t1\t1\t1\t0\t19\t5\t5\t90\td",
    ]
    lines = [w.line for w in ocr.parse_tsv("\n".join(rows))]
    assert lines[0] == lines[1] and len(set(lines)) == 3


@pytest.mark.parametrize(
    ("size", "dpi", "expected"),
    [
        ((1654, 2339), 200.0, 1.0),  # A4 at 200 dpi: as is
        ((1240, 1754), 150.0, 200 / 150),  # A4 at 150 dpi: up to 200 dpi
        ((2480, 3508), 300.0, math.sqrt(ocr.MAX_OCR_PIXELS / (2480 * 3508))),  # 300 dpi A4: pixel budget
        ((2000, 2000), 400.0, 300 / 400),  # too fine: down to 300 dpi
        ((827, 1169), 100.0, 2.0),  # too coarse: up to 200 dpi
        ((789, 557), 96.0, 200 / 96),
        ((400, 300), 50.0, 3.0),  # upscaling is capped
        ((1654, 2339), None, 1.0),  # unknown: the width is taken as a page's width
        ((10000, 14000), 1200.0, math.sqrt(ocr.MAX_OCR_PIXELS / 140_000_000)),  # pixel budget
    ],
)
def test_ocr_scale(size: tuple[int, int], dpi: float | None, expected: float) -> None:
    assert ocr.ocr_scale(*size, dpi) == pytest.approx(expected, rel=0.02)


def test_to_gray_keeps_coloured_text_dark() -> None:
    from PIL import Image

    image = Image.new("RGB", (3, 1), "white")
    image.putpixel((0, 0), (255, 150, 0))  # orange text
    image.putpixel((1, 0), (40, 90, 200))  # blue link
    gray = ocr.to_gray(image)
    assert gray.mode == "L"
    assert gray.getpixel((0, 0)) < 30 and gray.getpixel((1, 0)) < 60 and gray.getpixel((2, 0)) == 255
    transparent = Image.new("RGBA", (2, 1), (0, 0, 0, 0))
    assert ocr.to_gray(transparent).getpixel((0, 0)) == 255  # transparent is paper, not ink


def test_split_line_box() -> None:
    words = ocr.split_line_box("Total  12,50", 0, 10, 120, 20)
    assert [(w.text, w.x0, w.x1) for w in words] == [("Total", 0, 50), ("12,50", 70, 120)]
    assert ocr.split_line_box("   ", 0, 0, 1, 1) == []


@pytest.mark.parametrize("degrees", [-2.0, -0.8, 0.7, 1.5, 3.0])
def test_deskew_puts_words_of_a_line_back_on_one_line(degrees: float) -> None:
    slope = math.tan(math.radians(degrees))
    words = [
        OcrWord(f"w{line}{i}", x, y, x + 60, y + 20, 0.9, line)
        for line in range(6)
        for i, x in enumerate(range(100, 1500, 200))
        for y in [200 + 80 * line + slope * x]
    ]
    assert math.degrees(ocr.skew_angle(words)) == pytest.approx(degrees, abs=0.05)
    fixed = ocr.deskew(words, 800, 800)
    for line in range(6):
        ys = [(w.y0 + w.y1) / 2 for w in fixed if w.line == line]
        assert max(ys) - min(ys) < 1.0


def test_deskew_leaves_straight_and_sideways_pages_alone() -> None:
    straight = [OcrWord("a", x, 100, x + 50, 120, 0.9, 1) for x in range(0, 1000, 100)]
    assert ocr.deskew(straight, 500, 500) == straight
    steep = [
        OcrWord("a", x, x * 0.5, x + 50, x * 0.5 + 20, 0.9, n % 4) for n, x in enumerate(range(0, 4000, 100))
    ]
    assert ocr.deskew(steep, 500, 500) == steep  # 26 degrees: not a slightly rotated scan


def test_image_through_a_fake_engine(restore_engine: None) -> None:
    engine = FakeEngine([(100, 100, "Invoice number: F-77"), (100, 200, "Total: 12,50 EUR")])
    ocr.use_engine(engine)
    out = extract(_png(), [INVOICE_VARIABLES[1], INVOICE_VARIABLES[4]])
    assert out.extracted_data == {"invoice_number": "F-77", "total_amount": 12.5}
    assert out.pages[0].ocr and out.pages[0].source == "ocr"
    ((size, dpi),) = engine.seen
    assert size == (1654, 2339) and dpi == pytest.approx(200, rel=1e-3)
    field = next(f for f in out.fields if f.path == "invoice_number")
    assert field.bbox is not None and 100 < field.bbox[0] < 1000  # image pixels


def test_large_image_is_scaled_before_ocr_and_boxes_come_back_in_pixels(restore_engine: None) -> None:
    engine = FakeEngine([(100, 100, "Invoice number: F-77")])
    ocr.use_engine(engine)
    out = extract(_png((2400, 3200), dpi=600), [INVOICE_VARIABLES[1]])
    ((size, dpi),) = engine.seen
    assert size == (1200, 1600) and dpi == pytest.approx(300)
    field = next(f for f in out.fields if f.path == "invoice_number")
    assert field.bbox is not None and field.bbox[0] > 400  # scaled back to the original's pixels


def test_scanned_pdf_page_through_a_fake_engine(restore_engine: None) -> None:
    from fpdf import FPDF
    from PIL import Image

    engine = FakeEngine([(200, 300, "Invoice number: SCAN-1")])
    ocr.use_engine(engine)
    pdf = FPDF(unit="mm", format="A4")
    pdf.add_page()
    pdf.image(Image.new("RGB", (400, 560), "white"), x=0, y=0, w=210, h=297)
    out = extract(bytes(pdf.output()), [INVOICE_VARIABLES[1]])
    assert out.extracted_data == {"invoice_number": "SCAN-1"}
    assert engine.seen[0][1] == pytest.approx(200, rel=1e-3)  # rendered at 200 dpi
    field = next(f for f in out.fields if f.path == "invoice_number")
    assert field.bbox is not None and field.bbox[2] < 595  # PDF points


def test_engine_switched_off(monkeypatch: pytest.MonkeyPatch, restore_engine: None) -> None:
    monkeypatch.setenv(ocr.ENGINE_ENV, "off")
    ocr.use_engine(None)
    assert not ocr.ocr_available()
    with pytest.raises(ExtractError) as err:
        extract(_png(), [INVOICE_VARIABLES[1]])
    assert err.value.code == "UNSUPPORTED_TYPE" and "off" in err.value.message


def test_unknown_engine_name(monkeypatch: pytest.MonkeyPatch, restore_engine: None) -> None:
    with pytest.raises(ocr.OcrUnavailableError):
        ocr.use_engine("nope")
    monkeypatch.setenv(ocr.ENGINE_ENV, "nope")
    ocr.use_engine(None)
    assert "unknown OCR engine" in ocr.ocr_unavailable_reason()


def test_failing_engine_does_not_fail_a_pdf(restore_engine: None) -> None:
    class Broken:
        name = "broken"

        def recognize(self, image: Any, dpi: float) -> list[OcrWord]:
            raise RuntimeError("boom")

    from fpdf import FPDF
    from PIL import Image

    ocr.use_engine(Broken())
    pdf = FPDF(unit="mm", format="A4")
    pdf.add_page()
    pdf.image(Image.new("RGB", (400, 560), "white"), x=0, y=0, w=210, h=297)
    out = extract(bytes(pdf.output()), [INVOICE_VARIABLES[1]])
    assert out.extracted_data == {"invoice_number": None}
    assert out.pages[0].note is not None and "OCR failed" in out.pages[0].note


# ----------------------------------------------------------------------------------------- real OCR


@pytest.mark.ocr
def test_real_ocr_of_a_png(ocr_engine: str) -> None:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(make_pdf([INVOICE_ROWS]))
    image = doc[0].render(scale=150 / 72).to_pil().convert("L")
    buf = io.BytesIO()
    image.save(buf, format="PNG", dpi=(150, 150))
    out = extract(buf.getvalue(), INVOICE_VARIABLES)
    assert out.extracted_data["invoice_number"] == "INV-2024-003"
    assert out.extracted_data["total_amount"] == 4750.0
    assert out.extracted_data["invoice_date"] == "2024-11-15"
    assert next(f for f in out.fields if f.path == "invoice_number").bbox is not None


@pytest.mark.ocr
def test_tesseract_command_and_library_agree(ocr_engine: str, restore_engine: None) -> None:
    """Without tesserocr the engine runs the tesseract command; both read the same words."""
    try:
        api = ocr.TesseractEngine(langs=["eng"])
        command = ocr.TesseractEngine(langs=["eng"], use_api=False)
    except ocr.OcrUnavailableError as exc:
        pytest.skip(str(exc))
    from PIL import Image, ImageDraw

    image = Image.new("L", (900, 120), 255)
    ImageDraw.Draw(image).text((20, 30), "Invoice 12345 total 99.50", fill=0, font_size=40)
    a = [w.text for w in api.recognize(image, 200)]
    b = [w.text for w in command.recognize(image, 200)]
    assert "12345" in a and a == b
