from __future__ import annotations

from fieldstone.files.domain.model import check_upload, sniff_type

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "


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
    wrong = check_upload("image/png", 100, 100, PDF)
    assert wrong is not None and wrong.reason == "TYPE_MISMATCH" and "application/pdf" in wrong.message
    junk = check_upload("application/pdf", 4, 4, b"MZ\x90\x00")
    assert junk is not None and junk.reason == "TYPE_MISMATCH"
