"""The extraction lifecycle (no I/O).

    queued ──► processing ──► completed | failed
      │  │          │
      │  └► failed  └──────► canceled
      └─────────────────────► canceled

`queued → failed` is the one shortcut: the file the extraction waited for was rejected or deleted,
so there is nothing to process. Every transition records its event, which the unit of work
writes to the outbox in the same transaction.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fieldstone.common.errors import Conflict, ValidationFailed
from fieldstone.extraction.domain.events import Event, JobRequested, StatusChanged

QUEUED = "queued"
PROCESSING = "processing"
COMPLETED = "completed"
FAILED = "failed"
CANCELED = "canceled"

STATUSES = (QUEUED, PROCESSING, COMPLETED, FAILED, CANCELED)
TERMINAL = frozenset({COMPLETED, FAILED, CANCELED})
TRANSITIONS: dict[str, frozenset[str]] = {
    QUEUED: frozenset({PROCESSING, FAILED, CANCELED}),
    PROCESSING: frozenset({COMPLETED, FAILED, CANCELED}),
    COMPLETED: frozenset(),
    FAILED: frozenset(),
    CANCELED: frozenset(),
}


class InvalidTransition(Conflict):
    """The extraction's status forbids the move (409 CONFLICT)."""


class Claim(enum.Enum):
    """What a delivered job may do with its extraction."""

    RUN = "run"  # this worker holds the lease: run the engine
    BUSY = "busy"  # another live worker holds the lease: wait for it to finish or die
    NOTHING = "nothing"  # ended, canceled or still waiting for its file
    ABANDONED = "abandoned"  # it killed its workers too often and failed now


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
    template_version: int | None = None
    # The plan's page limit when it was created (None: the service's own limit only).
    max_pages: int | None = None
    # The worker running it, until when (renewed at every checkpoint).
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    # -- transitions ---------------------------------------------------------------------
    def _move(self, status: str) -> None:
        if status not in TRANSITIONS[self.status]:
            raise InvalidTransition(f"extraction {self.id} is {self.status} and cannot become {status}")
        self.status = status
        self.events.append(
            StatusChanged(
                extraction_id=self.id,
                workspace_id=self.workspace_id,
                file_id=self.file_id,
                template_id=self.template_id,
                status=status,
                error_code=self.error_code,
                error=self.error,
                run_id=self.run_id,
                page_count=self.page_count,
                processing_time_ms=self.processing_time_ms,
            )
        )

    def announce_queued(self) -> None:
        """A new extraction: its `queued` event, and its job if the file is already there."""
        self.events.append(
            StatusChanged(
                self.id,
                self.workspace_id,
                self.file_id,
                self.template_id,
                QUEUED,
                None,
                None,
                self.run_id,
                None,
                None,
            )
        )
        if not self.waiting_for_file:
            self._request_job()

    def _request_job(self) -> None:
        self.events.append(
            JobRequested(self.id, self.workspace_id, self.file_id, self.bucket, self.object_key)
        )

    def file_uploaded(self) -> None:
        """The file it waited for is verified: hand it to the workers (if still queued)."""
        was_waiting, self.waiting_for_file = self.waiting_for_file, False
        if was_waiting and self.status == QUEUED:
            self._request_job()

    def file_unavailable(self, deleted: bool, reason: str | None, now: datetime) -> None:
        """The file it waited for was rejected or deleted: nothing can be extracted."""
        was_waiting, self.waiting_for_file = self.waiting_for_file, False
        if was_waiting and self.status == QUEUED:
            if deleted:
                self.fail("FILE_DELETED", "the file was deleted before it was uploaded", now)
            else:
                self.fail("FILE_REJECTED", f"the file was rejected: {reason or 'unknown reason'}", now)

    def claim(self, worker: str, *, now: datetime, lease: timedelta, max_attempts: int) -> Claim:
        """A worker got this extraction's job: may it run the engine?

        A job is claimed under a lease the worker renews at each checkpoint. A live lease of
        another worker means the job is running (a redelivery, e.g. after a rebalance): wait.
        An expired one means that worker died: take over, counting the attempt, and give up
        after `max_attempts` so a document that kills its workers cannot loop forever.
        """
        if self.status in TERMINAL or self.waiting_for_file:
            return Claim.NOTHING
        live = self.lease_expires_at is not None and self.lease_expires_at > now
        if self.status == PROCESSING and live and self.lease_owner != worker:
            return Claim.BUSY
        self.attempts += 1
        if self.attempts > max_attempts:
            self.attempts = max_attempts
            self.fail(
                "EXTRACTION_CRASHED",
                f"the document stopped its worker {max_attempts} times; it was given up",
                now,
            )
            return Claim.ABANDONED
        self.lease_owner, self.lease_expires_at = worker, now + lease
        if self.status == QUEUED:
            self.started_at = now
            self._move(PROCESSING)
        return Claim.RUN

    def holds_lease(self, worker: str) -> bool:
        return self.status == PROCESSING and self.lease_owner == worker

    def renew_lease(self, worker: str, *, now: datetime, lease: timedelta) -> bool:
        """A checkpoint: False when the worker must stop (canceled, ended or taken over)."""
        if not self.holds_lease(worker):
            return False
        self.lease_expires_at = now + lease
        return True

    def release_lease(self, worker: str, *, count_attempt: bool) -> None:
        """The worker gives the job back: after an engine crash (the attempt counts) or when
        its process is stopping (it does not), so the next delivery can start at once."""
        if self.holds_lease(worker):
            self.lease_owner = self.lease_expires_at = None
            if not count_attempt:
                self.attempts = max(0, self.attempts - 1)

    def complete(self, outcome: EngineOutcome, elapsed_ms: int, now: datetime) -> None:
        self.page_count = outcome.page_count
        self.processing_time_ms = elapsed_ms
        if outcome.error_code:
            self.fail(outcome.error_code, outcome.error or outcome.error_code, now)
            return
        self.extracted_data, self.fields = outcome.extracted_data, outcome.fields
        self._end(COMPLETED, now)

    def fail(self, code: str, message: str, now: datetime) -> None:
        self.error_code, self.error = code, message
        self._end(FAILED, now)

    def cancel(self, now: datetime) -> None:
        """Queued or processing → canceled at once; a running worker notices at its next checkpoint."""
        if self.status in TERMINAL:
            raise InvalidTransition(f"extraction {self.id} is {self.status} and can no longer be canceled")
        self.waiting_for_file = False
        self._end(CANCELED, now)

    def _end(self, status: str, now: datetime) -> None:
        self.completed_at = now
        self.lease_owner = self.lease_expires_at = None
        self._move(status)

    def pop_events(self) -> list[Event]:
        events, self.events = self.events, []
        return events


MAX_METADATA_KEYS = 50
MAX_METADATA_BYTES = 16 * 1024


def check_metadata(metadata: dict[str, Any] | None) -> None:
    """Metadata is the client's own: stored and echoed, kept small."""
    if metadata is None:
        return
    if len(metadata) > MAX_METADATA_KEYS:
        raise ValidationFailed(f"metadata: {len(metadata)} keys; at most {MAX_METADATA_KEYS}")
    size = len(json.dumps(metadata, ensure_ascii=False, default=str).encode())
    if size > MAX_METADATA_BYTES:
        raise ValidationFailed(f"metadata: {size} bytes as JSON; at most {MAX_METADATA_BYTES}")


@dataclass(frozen=True)
class FileInfo:
    """What the extraction service knows of a file (from the files service)."""

    id: str
    filename: str
    status: str  # pending_upload | uploaded | rejected | deleted
    bucket: str
    object_key: str
    rejection_reason: str | None = None


@dataclass(frozen=True)
class PlanLimits:
    """The workspace plan's limits this service enforces (from UsageService.GetPlanLimits)."""

    plan: str
    max_pages: int
    batch_size: int


@dataclass(frozen=True)
class EngineOutcome:
    extracted_data: dict[str, Any] | None
    fields: list[dict[str, Any]]
    page_count: int | None
    error_code: str | None = None
    error: str | None = None


class EngineCrashed(Exception):
    """The engine process died (or raised something unexpected) on this document.

    Counted like a dead worker: the job is tried again, up to the attempt limit."""


class DocumentUnavailable(Exception):
    """The stored document cannot be read (missing, or storage down past the retry limit)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message
