"""Keeping a batch run's status in step with its extractions."""

from __future__ import annotations

from datetime import datetime

from fieldstone.extraction.domain.model import TERMINAL, ExtractionRecord
from fieldstone.extraction.service_layer.unit_of_work import ExtractionUnitOfWork


async def settle_run(uow: ExtractionUnitOfWork, record: ExtractionRecord, now: datetime) -> None:
    """Call after saving an extraction that just ended: the run completes with its last one.

    The run row is locked before counting, so of two extractions ending at once the second
    waits for the first to commit and then counts both (no run is left `running`)."""
    if record.run_id is None or record.status not in TERMINAL:
        return
    run = await uow.runs.lock(record.run_id)
    if run is None:
        return
    before = run.status
    run.observe(await uow.runs.counts(run.id), now)
    if run.status != before:
        await uow.runs.save(run)
