"""Files: accepted types, declared-vs-actual checks, rejection reasons (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ACCEPTED_TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "image/webp": (b"RIFF",),  # plus "WEBP" at offset 8, checked below
}
MAGIC_BYTES_NEEDED = 16
MAX_FILENAME = 255

PENDING_UPLOAD = "pending_upload"
UPLOADED = "uploaded"
REJECTED = "rejected"


def sniff_type(head: bytes) -> str | None:
    """The accepted content type whose magic bytes start `head`, if any."""
    for content_type, magics in ACCEPTED_TYPES.items():
        if any(head.startswith(m) for m in magics):
            if content_type == "image/webp" and head[8:12] != b"WEBP":
                continue
            return content_type
    return None


@dataclass(frozen=True)
class Rejection:
    reason: str
    message: str


def check_upload(declared_type: str, declared_size: int, actual_size: int, head: bytes) -> Rejection | None:
    """Why an uploaded object does not match what was declared, or None when it does."""
    if actual_size != declared_size:
        return Rejection("SIZE_MISMATCH", f"declared {declared_size} bytes but {actual_size} were uploaded")
    sniffed = sniff_type(head)
    if sniffed is None:
        return Rejection(
            "TYPE_MISMATCH", f"the content is not a supported document (declared {declared_type})"
        )
    if sniffed != declared_type:
        return Rejection("TYPE_MISMATCH", f"declared {declared_type} but the content is {sniffed}")
    return None


@dataclass(frozen=True)
class FileRecord:
    id: str
    workspace_id: str
    filename: str
    content_type: str
    size_bytes: int
    status: str
    rejection_reason: str | None
    rejection_message: str | None
    bucket: str
    object_key: str
    created_at: datetime
    uploaded_at: datetime | None
