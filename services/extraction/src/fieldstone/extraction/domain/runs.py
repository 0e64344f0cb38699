"""Batch runs: one template, many files, one extraction per file (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fieldstone.common.errors import ValidationFailed
from fieldstone.extraction.domain.events import Event, RunCompleted
from fieldstone.extraction.domain.model import STATUSES, TERMINAL

RUNNING = "running"
COMPLETED = "completed"
MAX_FILES = 1000  # per run, whatever the plan


def check_file_ids(file_ids: list[str], batch_size: int, plan: str) -> None:
    """A run's files: 1..MAX_FILES distinct ids, and no more than the plan's batch size."""
    if not file_ids:
        raise ValidationFailed("fileIds: give at least one file id")
    if len(file_ids) > MAX_FILES:
        raise ValidationFailed(f"fileIds: {len(file_ids)} files; at most {MAX_FILES} per run")
    seen: set[str] = set()
    for i, file_id in enumerate(file_ids):
        if not file_id:
            raise ValidationFailed(f"fileIds[{i}]: must not be empty")
        if file_id in seen:
            raise ValidationFailed(f"fileIds[{i}]: {file_id} is listed twice")
        seen.add(file_id)
    if len(file_ids) > batch_size:
        raise ValidationFailed(
            f"fileIds: {len(file_ids)} files; the {plan} plan allows at most {batch_size} per run "
            "(split the batch or change plan)"
        )


@dataclass
class Run:
    id: str
    workspace_id: str
    template_id: str | None
    template_version: int | None
    template_name: str | None
    variables: list[dict[str, Any]]
    total: int
    status: str
    created_at: datetime
    completed_at: datetime | None = None
    created_by: str | None = None
    metadata: dict[str, Any] | None = None
    # Extractions per status, read with the run (not stored).
    counts: dict[str, int] = field(default_factory=dict, compare=False)
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    def observe(self, counts: dict[str, int], now: datetime) -> None:
        """Take the current counts; the run completes once every extraction has ended."""
        self.counts = {s: counts.get(s, 0) for s in STATUSES}
        ended = sum(self.counts[s] for s in TERMINAL)
        if self.status == RUNNING and ended >= self.total:
            self.status, self.completed_at = COMPLETED, now
            self.events.append(
                RunCompleted(
                    run_id=self.id,
                    workspace_id=self.workspace_id,
                    template_id=self.template_id,
                    total=self.total,
                    completed=self.counts["completed"],
                    failed=self.counts["failed"],
                    canceled=self.counts["canceled"],
                )
            )

    def pop_events(self) -> list[Event]:
        events, self.events = self.events, []
        return events
