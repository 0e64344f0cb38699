"""What the extraction domain announces. The unit of work writes each to the outbox in the
transaction of the change that raised it (adapters/outbox.py maps them to topics and protobuf)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StatusChanged:
    """An extraction entered `status` (fieldstone.extraction.<status>.v1)."""

    extraction_id: str
    workspace_id: str
    file_id: str
    template_id: str | None
    status: str
    error_code: str | None
    error: str | None
    run_id: str | None
    page_count: int | None
    processing_time_ms: int | None


@dataclass(frozen=True)
class JobRequested:
    """The extraction is ready for a worker (fieldstone.extraction-jobs.v1)."""

    extraction_id: str
    workspace_id: str
    file_id: str
    bucket: str | None
    object_key: str | None


@dataclass(frozen=True)
class RunCompleted:
    """Every extraction of a batch run ended."""

    run_id: str
    workspace_id: str
    template_id: str | None
    total: int
    completed: int
    failed: int
    canceled: int


Event = StatusChanged | JobRequested | RunCompleted
