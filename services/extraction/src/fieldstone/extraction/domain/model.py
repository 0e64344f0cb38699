"""The extraction lifecycle: queued → processing → completed | failed, and canceled (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

QUEUED = "queued"
PROCESSING = "processing"
COMPLETED = "completed"
FAILED = "failed"
CANCELED = "canceled"

TERMINAL = frozenset({COMPLETED, FAILED, CANCELED})
CANCELABLE = frozenset({QUEUED, PROCESSING})
# A job may start (or restart after a worker died) only from these.
RUNNABLE = frozenset({QUEUED, PROCESSING})


def event_type(status: str) -> str:
    return f"fieldstone.extraction.{status}.v1"


@dataclass
class ExtractionRecord:
    id: str
    workspace_id: str
    file_id: str
    file_name: str | None
    template_id: str | None
    template_name: str | None
    status: str
    variables: list[dict[str, Any]]
    pages: str | None
    metadata: dict[str, Any] | None
    extracted_data: dict[str, Any] | None = None
    fields: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    error_code: str | None = None
    page_count: int | None = None
    processing_time_ms: int | None = None
    waiting_for_file: bool = False
    bucket: str | None = None
    object_key: str | None = None
    attempts: int = 0
    run_id: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True)
class FileInfo:
    """What the extraction service knows of a file (from the files service)."""

    id: str
    filename: str
    status: str  # pending_upload | uploaded | rejected
    bucket: str
    object_key: str
    rejection_reason: str | None = None


@dataclass(frozen=True)
class EngineOutcome:
    extracted_data: dict[str, Any] | None
    fields: list[dict[str, Any]]
    page_count: int | None
    error_code: str | None = None
    error: str | None = None
