"""Use cases of the extraction service.

Every status change is written with its events in one transaction (outbox): a job on
`fieldstone.extraction-jobs.v1` for the workers, a status event on `fieldstone.extractions.v1`
for everyone else. Status moves are guarded by the current status, so redelivered jobs,
restarted workers and racing cancels never produce a second completion.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from fieldstone.common.errors import Conflict, NotFound, ValidationFailed
from fieldstone.common.ids import new_id
from fieldstone.common.logging import get_logger
from fieldstone.common.time import utcnow
from fieldstone.extraction.domain import model
from fieldstone.extraction.domain.model import EngineOutcome, ExtractionRecord, FileInfo
from fieldstone.extraction.service_layer.unit_of_work import ExtractionUnitOfWork
from fieldstone.grpc.convert import to_timestamp
from fieldstone.messaging import Topics, publish
from fieldstone.proto.events.v1 import events_pb2

SOURCE = "/fieldstone/extraction"
log = get_logger(__name__)


class Files(Protocol):
    async def get(self, workspace_id: str, file_id: str) -> FileInfo: ...


class Quota(Protocol):
    async def reserve(self, workspace_id: str, reservation_id: str) -> None: ...

    async def release(self, workspace_id: str, reservation_id: str) -> None: ...


async def _announce(uow: ExtractionUnitOfWork, r: ExtractionRecord) -> None:
    await publish(
        uow.conn,
        topic=Topics.EXTRACTIONS,
        key=r.id,
        ce_type=model.event_type(r.status),
        source=SOURCE,
        subject=r.id,
        message=events_pb2.ExtractionStatusChanged(
            extraction_id=r.id,
            workspace_id=r.workspace_id,
            file_id=r.file_id,
            template_id=r.template_id or "",
            status=r.status,
            error_code=r.error_code or "",
            error=r.error or "",
            run_id=r.run_id or "",
            page_count=r.page_count or 0,
            processing_time_ms=r.processing_time_ms or 0,
            occurred_at=to_timestamp(utcnow()),
        ),
    )


async def _enqueue(uow: ExtractionUnitOfWork, r: ExtractionRecord) -> None:
    await publish(
        uow.conn,
        topic=Topics.EXTRACTION_JOBS,
        key=r.id,
        ce_type="fieldstone.extraction_job.requested.v1",
        source=SOURCE,
        subject=r.id,
        message=events_pb2.ExtractionJobRequested(
            extraction_id=r.id,
            workspace_id=r.workspace_id,
            file_id=r.file_id,
            bucket=r.bucket or "",
            object_key=r.object_key or "",
            occurred_at=to_timestamp(utcnow()),
        ),
    )


async def create_extraction(
    uow: ExtractionUnitOfWork,
    files: Files,
    quota: Quota,
    *,
    workspace_id: str,
    file_id: str,
    variables: list[dict[str, Any]],
    validate_variables: Callable[[list[dict[str, Any]]], None],
    template_id: str | None = None,
    pages: str | None = None,
    metadata: dict[str, Any] | None = None,
    created_by: str | None = None,
) -> ExtractionRecord:
    if template_id:
        # Templates are stored by the extraction service in a later release; none exist yet.
        raise NotFound(f"template {template_id} not found")
    if not variables:
        raise ValidationFailed("give either templateId or a non-empty variables list")
    validate_variables(variables)
    if not file_id:
        raise ValidationFailed("fileId is required")
    file = await files.get(workspace_id, file_id)  # NotFound for another workspace's file
    # A pending file is accepted: the extraction waits for its upload (file.uploaded releases it).
    if file.status in ("rejected", "deleted"):
        why = f"it was rejected ({file.rejection_reason})" if file.status == "rejected" else "it was deleted"
        raise Conflict(f"file {file_id} cannot be extracted: {why}")
    record = ExtractionRecord(
        id=new_id("ext"),
        workspace_id=workspace_id,
        file_id=file_id,
        file_name=file.filename,
        template_id=None,
        template_name=None,
        status=model.QUEUED,
        variables=variables,
        pages=pages or None,
        metadata=metadata,
        waiting_for_file=file.status != "uploaded",
        bucket=file.bucket,
        object_key=file.object_key,
        created_at=utcnow(),
        created_by=created_by,
    )
    # Reserve first (idempotent per extraction id, refused over the limit); if the extraction
    # then fails to commit, the unit is given back, so a failed create never holds quota.
    await quota.reserve(workspace_id, record.id)
    try:
        async with uow:
            await uow.extractions.add(record)
            await _announce(uow, record)
            if not record.waiting_for_file:
                await _enqueue(uow, record)
            await uow.commit()
    except BaseException:
        await quota.release(workspace_id, record.id)
        raise
    log.info("extraction queued", extraction_id=record.id, waiting_for_file=record.waiting_for_file)
    if record.waiting_for_file:
        # The upload may have been verified between our look at the file and the commit, in
        # which case its event found nothing waiting yet: look again now that we wait.
        again = await files.get(workspace_id, file_id)
        if again.status != "pending_upload":
            await file_status_changed(uow, file_id, again.status, again.rejection_reason)
    return record


async def file_status_changed(
    uow: ExtractionUnitOfWork, file_id: str, status: str, reason: str | None
) -> int:
    """Release the extractions that waited for this file: enqueue them, or fail them."""
    async with uow:
        waiting = await uow.extractions.waiting_for(file_id)
        for r in waiting:
            r.waiting_for_file = False
            if r.status != model.QUEUED:
                await uow.extractions.save(r)
                continue
            if status == "uploaded":
                await uow.extractions.save(r)
                await _enqueue(uow, r)
            else:
                deleted = status == "deleted"
                r.status, r.error_code = model.FAILED, "FILE_DELETED" if deleted else "FILE_REJECTED"
                r.error = (
                    "the file was deleted"
                    if deleted
                    else f"the file was rejected: {reason or 'unknown reason'}"
                )
                r.completed_at = utcnow()
                await uow.extractions.save(r)
                await _announce(uow, r)
        await uow.commit()
    return len(waiting)


async def get_extraction(
    uow: ExtractionUnitOfWork, workspace_id: str, extraction_id: str
) -> ExtractionRecord:
    async with uow:
        record = await uow.extractions.get(workspace_id, extraction_id)
    if record is None:
        raise NotFound(f"extraction {extraction_id} not found")
    return record


async def list_extractions(
    uow: ExtractionUnitOfWork, workspace_id: str, limit: int, cursor: str | None
) -> list[ExtractionRecord]:
    async with uow:
        return await uow.extractions.page(workspace_id, limit, cursor)


async def cancel_extraction(
    uow: ExtractionUnitOfWork, workspace_id: str, extraction_id: str
) -> ExtractionRecord:
    async with uow:
        record = await uow.extractions.get(workspace_id, extraction_id)
        if record is None:
            raise NotFound(f"extraction {extraction_id} not found")
        record = await uow.extractions.lock(extraction_id)
        assert record is not None
        if record.status not in model.CANCELABLE:
            raise Conflict(f"extraction {extraction_id} is {record.status} and can no longer be canceled")
        record.status, record.completed_at, record.waiting_for_file = model.CANCELED, utcnow(), False
        await uow.extractions.save(record)
        await _announce(uow, record)
        await uow.commit()
    return record


Engine = Callable[[ExtractionRecord], Awaitable[EngineOutcome]]


async def run_job(
    uow_factory: Callable[[], ExtractionUnitOfWork], extraction_id: str, engine: Engine, max_attempts: int
) -> str | None:
    """Process one job; returns the final status, or None when there was nothing to do.

    Step 1 claims the job (queued → processing, counting attempts) and commits, so a worker
    that dies mid-job leaves a visible `processing` row that the redelivered job resumes.
    Step 2 runs the engine outside any transaction. Step 3 records the outcome only if the
    extraction is still processing (a cancel may have won), with its event, atomically.
    """
    async with uow_factory() as uow:
        record = await uow.extractions.lock(extraction_id)
        if record is None or record.status not in model.RUNNABLE or record.waiting_for_file:
            return None
        record.attempts += 1
        first_start = record.status == model.QUEUED
        if record.attempts > max_attempts:
            record.status, record.error_code = model.FAILED, "EXTRACTION_CRASHED"
            record.error = f"the extraction stopped its worker {max_attempts} times and was abandoned"
            record.completed_at = utcnow()
            await uow.extractions.save(record)
            await _announce(uow, record)
            await uow.commit()
            return record.status
        record.status, record.started_at = model.PROCESSING, record.started_at or utcnow()
        await uow.extractions.save(record)
        if first_start:
            await _announce(uow, record)
        await uow.commit()

    started = utcnow()
    outcome = await engine(record)
    elapsed_ms = int((utcnow() - started).total_seconds() * 1000)

    async with uow_factory() as uow:
        current = await uow.extractions.lock(extraction_id)
        if current is None or current.status != model.PROCESSING:
            return None  # canceled meanwhile, or finished by another worker
        current.page_count = outcome.page_count
        current.processing_time_ms = elapsed_ms
        current.completed_at = utcnow()
        if outcome.error_code:
            current.status, current.error_code, current.error = (
                model.FAILED,
                outcome.error_code,
                outcome.error,
            )
        else:
            current.status, current.extracted_data, current.fields = (
                model.COMPLETED,
                outcome.extracted_data,
                outcome.fields,
            )
        await uow.extractions.save(current)
        await _announce(uow, current)
        await uow.commit()
    log.info("extraction finished", extraction_id=extraction_id, status=current.status, ms=elapsed_ms)
    return current.status
