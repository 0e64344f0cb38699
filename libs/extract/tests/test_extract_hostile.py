"""Hostile input, generated here: every case ends in a typed ExtractError (or a harmless result), fast,
and without the process's memory growing by more than a bounded amount."""

from __future__ import annotations

import io
import resource
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fs_extract_pdfs import INVOICE_ROWS, make_pdf

from fieldstone.extract import ERROR_CODES, ExtractError, extract

VARS = [
    {"key": "invoice_number", "type": "string", "context": "Invoice number"},
    {"key": "total", "type": "number", "context": "Total"},
]
MAX_SECONDS = 5.0
MAX_GROWTH_MB = 300


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def bounded(seconds: float = MAX_SECONDS) -> Iterator[None]:
    """The block must finish in time and must not raise the process's peak RSS by much.

    Time is CPU time, so that a busy machine does not fail the test; wall time gets a wide margin.
    """
    before, t0, c0 = _rss_mb(), time.perf_counter(), time.process_time()
    yield
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    assert cpu < seconds, f"took {cpu:.1f} s of CPU"
    assert wall < 6 * seconds, f"took {wall:.1f} s"
    assert _rss_mb() - before < MAX_GROWTH_MB, f"peak RSS grew by {_rss_mb() - before:.0f} MB"


def expect_error(data: bytes, codes: set[str], **kwargs: object) -> ExtractError:
    with bounded(), pytest.raises(ExtractError) as err:
        extract(data, VARS, **kwargs)  # type: ignore[arg-type]
    assert err.value.code in codes, err.value
    assert err.value.code in ERROR_CODES and err.value.message
    return err.value


# ---------------------------------------------------------------------------------------- builders


def raw_pdf(objects: list[bytes], *, root: int = 1) -> bytes:
    """A PDF from object bodies (numbered from 1) with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return bytes(out)


def many_pages_pdf(count: int) -> bytes:
    kids = b" ".join(b"%d 0 R" % (i + 3) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
    ]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * count
    return raw_pdf(objects)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` RGB pixels, with a tiny (truncated) body."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def image_bytes(fmt: str, size: tuple[int, int] = (40, 20)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, "white").save(buf, format=fmt)
    return buf.getvalue()


def jpeg_declaring(width: int, height: int) -> bytes:
    data = bytearray(image_bytes("JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def pdf_with_huge_image() -> bytes:
    """A scanned page whose image declares 30000 x 30000 grey pixels (a bomb if it were decoded)."""
    stream = zlib.compress(b"\x00" * 4096)
    image = (
        b"<< /Type /XObject /Subtype /Image /Width 30000 /Height 30000 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n"
        % len(stream)
        + stream
        + b"\nendstream"
    )
    content = b"q 612 0 0 792 0 0 cm /Im1 Do Q"
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im1 4 0 R >> >> "
            b"/Contents 5 0 R >>",
            image,
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        ]
    )


# ------------------------------------------------------------------------------------------- cases


@pytest.mark.parametrize(
    ("name", "make", "codes"),
    [
        ("zero bytes", lambda: b"", {"EMPTY_DOCUMENT"}),
        ("only whitespace", lambda: b" \n\t\r\n ", {"EMPTY_DOCUMENT"}),
        ("pdf header only", lambda: b"%PDF-1.7\n", {"UNREADABLE_PDF"}),
        ("pdf with garbage body", lambda: b"%PDF-1.4\n" + bytes(range(256)) * 20, {"UNREADABLE_PDF"}),
        (
            "pdf without pages",
            lambda: raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]),
            {"EMPTY_DOCUMENT", "UNREADABLE_PDF"},
        ),
        (
            "pdf whose page tree is a cycle",
            lambda: raw_pdf(
                [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"]
            ),
            {"EMPTY_DOCUMENT", "UNREADABLE_PDF"},
        ),
        ("png header, no image data", lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, {"UNSUPPORTED_TYPE"}),
        ("png declaring 50000 x 50000", lambda: png_header_only(50_000, 50_000), {"UNSUPPORTED_TYPE"}),
        ("png declaring 9000 x 9000", lambda: png_header_only(9_000, 9_000), {"UNSUPPORTED_TYPE"}),
        ("jpeg declaring 65000 x 65000", lambda: jpeg_declaring(65_000, 65_000), {"UNSUPPORTED_TYPE"}),
        (
            "jpeg magic then garbage",
            lambda: b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4,
            {"UNSUPPORTED_TYPE"},
        ),
        (
            "webp magic then garbage",
            lambda: b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x01" * 64,
            {"UNSUPPORTED_TYPE"},
        ),
        ("tiff magic then garbage", lambda: b"II*\x00" + b"\xff" * 64, {"UNSUPPORTED_TYPE"}),
        ("gif (not supported)", lambda: image_bytes("GIF"), {"UNSUPPORTED_TYPE"}),
        ("zip archive", lambda: b"PK\x03\x04" + b"\x00" * 26 + bytes(range(256)), {"UNSUPPORTED_TYPE"}),
        ("elf binary", lambda: b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 4, {"UNSUPPORTED_TYPE"}),
        ("text with nul bytes", lambda: b"Invoice number: 1\x00\x00\x00" * 50, {"UNSUPPORTED_TYPE"}),
        ("invalid utf-8", lambda: b"Rechnung \xff\xfe\xfa total 12" * 3, {"UNSUPPORTED_TYPE"}),
    ],
)
def test_hostile_bytes_raise_typed_errors(name: str, make: Callable[[], bytes], codes: set[str]) -> None:
    expect_error(make(), codes)


@pytest.mark.parametrize(
    ("make", "filename", "content_type", "codes"),
    [
        (lambda: b"PK\x03\x04" + b"\x00" * 100, "invoice.pdf", None, {"UNREADABLE_PDF"}),
        (lambda: b"<html><body>Invoice</body></html>", "invoice.pdf", None, {"UNREADABLE_PDF"}),
        (lambda: b"Invoice number: 7", None, "application/pdf", {"UNREADABLE_PDF"}),
        (lambda: b"Invoice number: 7", "scan.png", "image/png", {"UNSUPPORTED_TYPE"}),
        (lambda: b"not really a jpeg", None, "image/jpeg", {"UNSUPPORTED_TYPE"}),
    ],
)
def test_files_lying_about_their_type(
    make: Callable[[], bytes], filename: str | None, content_type: str | None, codes: set[str]
) -> None:
    expect_error(make(), codes, filename=filename, content_type=content_type)


def test_real_content_wins_over_a_wrong_name(invoice_pdf: bytes) -> None:
    """A PDF called .png (or declared as text) is still read as the PDF it is."""
    with bounded():
        out = extract(invoice_pdf, VARS, filename="scan.png", content_type="text/plain")
    assert out.extracted_data["invoice_number"] == "INV-2024-003"


def test_thousands_of_pages_are_refused_quickly() -> None:
    data = many_pages_pdf(5000)
    with bounded(seconds=2.0), pytest.raises(ExtractError) as err:
        extract(data, VARS, max_pages=500)
    assert err.value.code == "TOO_MANY_PAGES"
    # A selection within the limit reads only the selected pages.
    with bounded(seconds=2.0):
        out = extract(data, VARS, pages="1-3", max_pages=500)
    assert out.page_count == 5000 and [p.number for p in out.pages] == [1, 2, 3]
    assert out.extracted_data == {"invoice_number": None, "total": None}


def test_page_count_lie_is_typed() -> None:
    """/Count says a million pages, the tree has one."""
    data = raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1000000 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        ]
    )
    try:
        with bounded():
            out = extract(data, VARS, max_pages=500)
        assert out.page_count <= 500
    except ExtractError as exc:
        assert exc.code in {"TOO_MANY_PAGES", "UNREADABLE_PDF", "EMPTY_DOCUMENT"}


def test_many_frames_tiff_is_refused() -> None:
    from PIL import Image

    frames = [Image.new("L", (8, 8), 255) for _ in range(120)]
    buf = io.BytesIO()
    frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:])
    expect_error(buf.getvalue(), {"TOO_MANY_PAGES"}, max_pages=100)


def test_embedded_image_bomb_is_not_rendered() -> None:
    """The page is a scan whose image would need 900 MB decoded: it is skipped with a reason."""
    with bounded():
        out = extract(pdf_with_huge_image(), VARS)
    assert out.extracted_data == {"invoice_number": None, "total": None}
    assert out.pages[0].note is not None and "too large" in out.pages[0].note
    assert all(f.reason and "too large" in f.reason for f in out.fields)


@pytest.mark.parametrize("password", ["s3cret", "x"])
def test_encrypted_pdf_is_typed(password: str) -> None:
    expect_error(make_pdf([INVOICE_ROWS], encrypt=password), {"ENCRYPTED_PDF"})


def test_truncated_pdfs_are_typed_or_repaired(invoice_pdf: bytes) -> None:
    for cut in (1, 9, 64, 300, len(invoice_pdf) // 3, len(invoice_pdf) // 2, len(invoice_pdf) - 40):
        try:
            with bounded():
                extract(invoice_pdf[:cut], VARS)  # PDFium repairs some truncations: fine either way
        except ExtractError as exc:
            assert exc.code in {"UNREADABLE_PDF", "EMPTY_DOCUMENT", "UNSUPPORTED_TYPE"}


def test_corrupted_pdf_bytes_are_typed_or_repaired(invoice_pdf: bytes) -> None:
    import random

    rng = random.Random(2024)
    for _ in range(25):
        data = bytearray(invoice_pdf)
        for _ in range(rng.randint(1, 40)):
            data[rng.randrange(16, len(data))] = rng.randrange(256)
        try:
            with bounded():
                extract(bytes(data), VARS)
        except ExtractError as exc:
            assert exc.code in {"UNREADABLE_PDF", "EMPTY_DOCUMENT"}


def test_huge_text_is_bounded() -> None:
    """5 MB of text on one line and 200 000 short lines: read in bounded time."""
    with bounded(seconds=10.0):
        out = extract(b"Invoice number: A-1 " + b"x" * 5_000_000, VARS)
    assert out.page_count == 1
    with bounded(seconds=10.0):
        extract(b"Total 1,00\n" * 200_000, VARS)


def test_invalid_page_selections(invoice_pdf: bytes) -> None:
    for pages in ("0", "2", "1-", "-1", "a", "1,,1", "9" * 400, "1-" + "9" * 30):
        try:
            extract(invoice_pdf, VARS, pages=pages)
        except ExtractError as exc:
            assert exc.code == "INVALID_PAGES"
