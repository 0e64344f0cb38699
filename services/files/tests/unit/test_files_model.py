from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fpdf import FPDF

from fieldstone.files.adapters.pdf import inspect_pdf
from fieldstone.files.domain.model import (
    InvalidDeclaration,
    PdfFacts,
    check_pdf,
    check_upload,
    declare,
    expired,
    object_key,
    sniff_type,
    upload_key,
)

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "


def make_pdf(pages: int = 1, user_password: str | None = None) -> bytes:
    pdf = FPDF()
    if user_password:
        pdf.set_encryption(owner_password="owner", user_password=user_password)
    pdf.set_font("Helvetica", size=11)
    for i in range(pages):
        pdf.add_page()
        pdf.cell(0, 8, f"page {i + 1}")
    return bytes(pdf.output())


def test_sniffs_accepted_types() -> None:
    assert sniff_type(PDF) == "application/pdf"
    assert sniff_type(PNG) == "image/png"
    assert sniff_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff_type(b"II*\x00") == "image/tiff"
    assert sniff_type(WEBP) == "image/webp"
    assert sniff_type(b"RIFF\x24\x00\x00\x00WAVEfmt ") is None
    assert sniff_type(b"MZ\x90\x00") is None


def test_upload_checks() -> None:
    assert check_upload("application/pdf", 100, 100, PDF) is None
    size = check_upload("application/pdf", 100, 99, PDF)
    assert size is not None and size.reason == "SIZE_MISMATCH"
    empty = check_upload("application/pdf", 100, 0, b"")
    assert empty is not None and empty.reason == "EMPTY_FILE"
    wrong = check_upload("image/png", 100, 100, PDF)
    assert wrong is not None and wrong.reason == "TYPE_MISMATCH" and "application/pdf" in wrong.message
    junk = check_upload("application/pdf", 4, 4, b"MZ\x90\x00")
    assert junk is not None and junk.reason == "TYPE_MISMATCH"


@pytest.mark.parametrize(
    "filename",
    ["", " ", "a/b.pdf", "..", ".", "..\\evil.pdf", "a\x00.pdf", "line\nbreak.pdf", "x" * 256],
)
def test_declaration_refuses_path_tricks_and_bad_names(filename: str) -> None:
    with pytest.raises(InvalidDeclaration) as exc:
        declare(filename, "application/pdf", 10, 100)
    assert exc.value.kind == "invalid"


def test_declaration_normalises_and_caps() -> None:
    d = declare("  Rechnung März.pdf ", "Application/PDF; charset=binary", 10, 100)
    assert (d.filename, d.content_type, d.size_bytes) == ("Rechnung März.pdf", "application/pdf", 10)
    with pytest.raises(InvalidDeclaration) as unsupported:
        declare("a.html", "text/html", 10, 100)
    assert unsupported.value.kind == "unsupported_type"
    with pytest.raises(InvalidDeclaration) as big:
        declare("a.pdf", "application/pdf", 101, 100)
    assert big.value.kind == "too_large"
    with pytest.raises(InvalidDeclaration):
        declare("a.pdf", "application/pdf", 0, 100)


def test_keys_never_contain_the_client_name() -> None:
    assert upload_key("ws_1", "file_2") == "uploads/ws_1/file_2"
    assert object_key("ws_1", "file_2") == "files/ws_1/file_2"


def test_pdf_rules_on_real_documents() -> None:
    good = make_pdf(3)
    facts = inspect_pdf(good)
    assert facts == PdfFacts(opened=True, page_count=3)
    assert check_pdf(good, facts, max_pages=3) is None
    too_many = check_pdf(good, facts, max_pages=2)
    assert too_many is not None and too_many.reason == "TOO_MANY_PAGES"

    locked = make_pdf(user_password="secret")
    locked_facts = inspect_pdf(locked)
    assert locked_facts.encrypted
    encrypted = check_pdf(locked, locked_facts, 10)
    assert encrypted is not None and encrypted.reason == "ENCRYPTED_PDF"

    # PDFium repairs a file cut near its end and opens it; the missing %%EOF still gives it away.
    for cut in (0.5, 0.98):
        truncated = good[: int(len(good) * cut)]
        rejection = check_pdf(truncated, inspect_pdf(truncated), 10)
        assert rejection is not None and rejection.reason == "UNREADABLE_PDF", cut

    html = b"<!doctype html><html><body>not a pdf</body></html>"
    garbage = check_pdf(html, inspect_pdf(html), 10)
    assert garbage is not None and garbage.reason == "UNREADABLE_PDF"


def test_expiry_allows_a_grace_period() -> None:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    assert not expired(at, at + timedelta(seconds=59), grace_seconds=60)
    assert expired(at, at + timedelta(seconds=61), grace_seconds=60)


@pytest.mark.parametrize("filename", ["invoice\u202efdp.exe", "a\u200bb.pdf", "\u0088\u00dd", "bell\x07.pdf"])
def test_declaration_refuses_hidden_characters(filename: str) -> None:
    with pytest.raises(InvalidDeclaration):
        declare(filename, "application/pdf", 10, 100)
