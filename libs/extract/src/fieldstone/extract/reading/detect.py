"""Detect the document type from magic bytes (never trust the filename or declared type alone)."""

from __future__ import annotations

from typing import Literal

from fieldstone.extract.errors import ExtractError

Kind = Literal["pdf", "png", "jpeg", "tiff", "webp", "text"]

_IMAGE_TYPES: dict[str, Kind] = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/tiff": "tiff",
    "image/webp": "webp",
}


def detect_kind(data: bytes, *, filename: str | None = None, content_type: str | None = None) -> Kind:
    if not data:
        raise ExtractError("EMPTY_DOCUMENT", "the document is empty (0 bytes)")
    head = data[:1024]
    # PDF readers accept a header anywhere in the first KiB (junk before %PDF- is common).
    if b"%PDF-" in head:
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "webp"
    declared = (content_type or "").split(";")[0].strip().lower()
    name = (filename or "").lower()
    if declared == "application/pdf" or name.endswith(".pdf"):
        raise ExtractError("UNREADABLE_PDF", "the file is declared as PDF but has no PDF header")
    if declared in _IMAGE_TYPES:
        raise ExtractError(
            "UNSUPPORTED_TYPE", f"the file is declared as {declared} but is not a readable image"
        )
    if _looks_like_text(data):
        return "text"
    raise ExtractError(
        "UNSUPPORTED_TYPE",
        "unsupported document type: expected PDF, PNG, JPEG, TIFF, WebP or UTF-8 text",
    )


def _looks_like_text(data: bytes) -> bool:
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    try:
        text = decode_text(data)
    except UnicodeDecodeError:
        return False
    sample = text[:8192]
    if not sample:
        return False
    # Reject binary that happens to decode: text has few control characters besides whitespace.
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    return controls <= len(sample) * 0.01


def decode_text(data: bytes) -> str:
    """Decode plain text: UTF-8 (with or without BOM) or UTF-16 with a BOM."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")
