"""Files: declarations, accepted types, the checks of an uploaded object, rejection reasons (no I/O)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

ACCEPTED_TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "image/webp": (b"RIFF",),  # plus "WEBP" at offset 8, checked below
}
PDF = "application/pdf"
MAGIC_BYTES_NEEDED = 16
MAX_FILENAME = 255
# A complete PDF ends with %%EOF; readers tolerate trailing junk, so look in the last KiB.
PDF_EOF_WINDOW = 1024

PENDING_UPLOAD = "pending_upload"
UPLOADED = "uploaded"
REJECTED = "rejected"
DELETED = "deleted"

# How an upload was verified (kept on the file, so operators and tests can see which path won).
VIA_NOTIFICATION = "notification"
VIA_READ = "read"
VIA_SWEEP = "sweep"
VIA_INLINE = "inline"

# Upload keys are the only keys presigned URLs can write; verified content is copied out of them.
UPLOAD_PREFIX = "uploads/"
OBJECT_PREFIX = "files/"


class InvalidDeclaration(ValueError):
    """The declared filename, type or size cannot be accepted; `kind` says which error code."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "invalid" | "unsupported_type" | "too_large"
        self.message = message


@dataclass(frozen=True)
class Limits:
    """What the workspace plan allows per file."""

    max_file_bytes: int
    max_pages: int


@dataclass(frozen=True)
class Declaration:
    filename: str
    content_type: str
    size_bytes: int


def declare(filename: str, content_type: str, size_bytes: int, max_size_bytes: int) -> Declaration:
    """Validate what a client says it will upload. The name is only ever metadata: it never
    becomes part of an object key, but it is still kept free of paths and control characters."""
    name = unicodedata.normalize("NFC", filename.strip())
    if not name or len(name) > MAX_FILENAME:
        raise InvalidDeclaration("invalid", f"filename must be 1-{MAX_FILENAME} characters")
    # Control and format characters (Cc, Cf) include bidi overrides that disguise extensions.
    hidden = any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name)
    if "/" in name or "\\" in name or hidden or name in (".", ".."):
        raise InvalidDeclaration(
            "invalid",
            "filename must be a plain name: no '/', '\\', control or format characters, '.' or '..'",
        )
    kind = content_type.split(";")[0].strip().lower()
    if kind not in ACCEPTED_TYPES:
        raise InvalidDeclaration(
            "unsupported_type",
            f"contentType {content_type!r} is not accepted; use one of {', '.join(ACCEPTED_TYPES)}",
        )
    if size_bytes <= 0:
        raise InvalidDeclaration("invalid", "sizeBytes must be a positive integer")
    if size_bytes > max_size_bytes:
        raise InvalidDeclaration(
            "too_large", f"sizeBytes {size_bytes} exceeds the plan's limit of {max_size_bytes} bytes"
        )
    return Declaration(name, kind, size_bytes)


def upload_key(workspace_id: str, file_id: str) -> str:
    return f"{UPLOAD_PREFIX}{workspace_id}/{file_id}"


def object_key(workspace_id: str, file_id: str) -> str:
    return f"{OBJECT_PREFIX}{workspace_id}/{file_id}"


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


def check_size(declared_size: int, actual_size: int) -> Rejection | None:
    if actual_size == 0:
        return Rejection("EMPTY_FILE", "the uploaded file is empty")
    if actual_size != declared_size:
        return Rejection("SIZE_MISMATCH", f"declared {declared_size} bytes but {actual_size} were uploaded")
    return None


def check_type(declared_type: str, head: bytes) -> Rejection | None:
    sniffed = sniff_type(head)
    if sniffed is None:
        return Rejection(
            "TYPE_MISMATCH", f"the content is not a supported document (declared {declared_type})"
        )
    if sniffed != declared_type:
        return Rejection("TYPE_MISMATCH", f"declared {declared_type} but the content is {sniffed}")
    return None


def check_upload(declared_type: str, declared_size: int, actual_size: int, head: bytes) -> Rejection | None:
    """Why an uploaded object does not match what was declared (size, then magic bytes), or None."""
    return check_size(declared_size, actual_size) or check_type(declared_type, head)


@dataclass(frozen=True)
class PdfFacts:
    """What opening a PDF showed (an adapter opens it; the rules are here)."""

    opened: bool
    encrypted: bool = False
    page_count: int = 0
    error: str = ""


def check_pdf(data: bytes, facts: PdfFacts, max_pages: int) -> Rejection | None:
    if facts.encrypted:
        return Rejection("ENCRYPTED_PDF", "the PDF is encrypted and needs a password to open")
    if not facts.opened:
        return Rejection("UNREADABLE_PDF", f"the PDF could not be opened: {facts.error or 'damaged file'}")
    if b"%%EOF" not in data[-PDF_EOF_WINDOW:]:
        # PDFium repairs many damaged files; a missing end marker means the upload was cut short.
        return Rejection("UNREADABLE_PDF", "the PDF is truncated (no %%EOF at its end)")
    if facts.page_count < 1:
        return Rejection("UNREADABLE_PDF", "the PDF has no pages")
    if facts.page_count > max_pages:
        return Rejection(
            "TOO_MANY_PAGES", f"the PDF has {facts.page_count} pages; the plan allows {max_pages}"
        )
    return None


def expired(upload_expires_at: datetime, now: datetime, grace_seconds: float) -> bool:
    """An upload started just before its URL expired may still be arriving; allow for it."""
    return (now - upload_expires_at).total_seconds() > grace_seconds


EXPIRED = Rejection("EXPIRED", "the upload URL expired before the file was uploaded")


def unavailable_because(record: FileRecord) -> str:
    """Why a file's content cannot be used (it is not `uploaded`), naming the status and reason."""
    if record.status == REJECTED:
        return (
            f"file {record.id} was rejected ({record.rejection_reason}: {record.rejection_message}) "
            "and cannot be used"
        )
    if record.status == DELETED:
        return f"file {record.id} was deleted"
    return f"file {record.id} is still pending upload"


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
    upload_key: str = ""
    upload_expires_at: datetime | None = None
    max_pages: int = 0
    page_count: int | None = None
    etag: str | None = None
    verified_by: str | None = None
    deleted_at: datetime | None = None
    checked_at: datetime | None = None
