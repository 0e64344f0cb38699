"""Extraction use cases: create (one unit of quota reserved), read, list, result, cancel, and
releasing the extractions that waited for their file's upload.

Status changes are decided by the domain model on locked rows; the unit of work writes their
events (`fieldstone.extractions.v1`, jobs on `fieldstone.extraction-jobs.v1`) in the same commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fieldstone.common.errors import Conflict, ExtractionNotReady, NotFound, ValidationFailed
from fieldstone.common.ids import new_id
from fieldstone.common.logging import get_logger
from fieldstone.common.time import utcnow
from fieldstone.extraction.adapters.repository import ExtractionQuery
from fieldstone.extraction.domain import model
from fieldstone.extraction.domain.model import ExtractionRecord, FileInfo, check_metadata
from fieldstone.extraction.domain.variables import check_variables
from fieldstone.extraction.service_layer.ports import Files, Quota
from fieldstone.extraction.service_layer.run_progress import settle_run
from fieldstone.extraction.service_layer.templates import get_template
from fieldstone.extraction.service_layer.unit_of_work import ExtractionUnitOfWork

log = get_logger(__name__)


@dataclass(frozen=True)
class Definition:
    """What to extract: a template's variables at its current version, or inline variables."""

    variables: list[dict[str, Any]]
    template_id: str | None = None
    template_name: str | None = None
    template_version: int | None = None


async def resolve_definition(
    uow: ExtractionUnitOfWork, workspace_id: str, template_id: str | None, variables: Any
) -> Definition:
    if template_id and variables:
        raise ValidationFailed("give either templateId or variables, not both")
    if template_id:
        t = await get_template(uow, workspace_id, template_id)
        return Definition(t.variables, t.id, t.name, t.version)
    if not variables:
        raise ValidationFailed("give either templateId or a non-empty variables list")
    return Definition(check_variables(variables))


def check_file(file: FileInfo) -> None:
    # A pending file is fine: the extraction waits for its upload (file.uploaded releases it).
    if file.status == "rejected":
        raise Conflict(f"file {file.id} cannot be extracted: it was rejected ({file.rejection_reason})")
    if file.status == "deleted":
        raise Conflict(f"file {file.id} cannot be extracted: it was deleted")


def new_record(
    workspace_id: str,
    file: FileInfo,
    definition: Definition,
    *,
    pages: str | None,
    metadata: dict[str, Any] | None,
    max_pages: int | None,
    created_by: str | None,
    now: datetime,
    run_id: str | None = None,
) -> ExtractionRecord:
    return ExtractionRecord(
        id=new_id("ext"),
        workspace_id=workspace_id,
        file_id=file.id,
        file_name=file.filename,
        template_id=definition.template_id,
        template_name=definition.template_name,
        template_version=definition.template_version,
        status=model.QUEUED,
        variables=definition.variables,
        pages=pages or None,
        metadata=metadata,
        waiting_for_file=file.status != "uploaded",
        bucket=file.bucket,
        object_key=file.object_key,
        run_id=run_id,
        max_pages=max_pages,
        created_at=now,
        created_by=created_by,
    )


async def create_extraction(
    uow: ExtractionUnitOfWork,
    files: Files,
    quota: Quota,
    *,
    workspace_id: str,
    file_id: str,
    template_id: str | None = None,
    variables: Any = None,
    pages: str | None = None,
    metadata: dict[str, Any] | None = None,
    created_by: str | None = None,
) -> ExtractionRecord:
    if not file_id:
        raise ValidationFailed("fileId is required")
    check_metadata(metadata)
    definition = await resolve_definition(uow, workspace_id, template_id, variables)
    file = await files.get(workspace_id, file_id)  # NotFound for another workspace's file
    check_file(file)
    limits = await quota.plan_limits(workspace_id)
    record = new_record(
        workspace_id,
        file,
        definition,
        pages=pages,
        metadata=metadata,
        max_pages=limits.max_pages,
        created_by=created_by,
        now=utcnow(),
    )
    # Reserve first (idempotent per extraction id, refused over the limit); if the extraction
    # then fails to commit, the unit is given back, so a failed create never holds quota.
    await quota.reserve(workspace_id, record.id)
    try:
        async with uow:
            record.announce_queued()
            await uow.extractions.add(record)
            await uow.commit()
    except BaseException:
        await quota.release(workspace_id, record.id)
        raise
    log.info("extraction queued", extraction_id=record.id, waiting_for_file=record.waiting_for_file)
    if record.waiting_for_file:
        await recheck_waiting(uow, files, workspace_id, [file_id])
    return record


async def recheck_waiting(
    uow: ExtractionUnitOfWork, files: Files, workspace_id: str, file_ids: Sequence[str]
) -> None:
    """The upload may have been verified between our look at the file and the commit, in which
    case its event found nothing waiting yet: look again now that we wait."""
    for file_id in file_ids:
        again = await files.get(workspace_id, file_id)
        if again.status != "pending_upload":
            await file_status_changed(uow, file_id, again.status, again.rejection_reason)


async def file_status_changed(
    uow: ExtractionUnitOfWork, file_id: str, status: str, reason: str | None
) -> int:
    """Release the extractions that waited for this file: enqueue them, or fail them."""
    async with uow:
        waiting = await uow.extractions.waiting_for(file_id)
        now = utcnow()
        for r in waiting:
            if status == "uploaded":
                r.file_uploaded()
            else:
                r.file_unavailable(status == "deleted", reason, now)
            await uow.extractions.save(r)
            await settle_run(uow, r, now)
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


async def get_result(uow: ExtractionUnitOfWork, workspace_id: str, extraction_id: str) -> ExtractionRecord:
    """A completed extraction (data, confidence, provenance) or a failed one (its error)."""
    record = await get_extraction(uow, workspace_id, extraction_id)
    if record.status in (model.QUEUED, model.PROCESSING):
        raise ExtractionNotReady(
            f"extraction {extraction_id} is {record.status}; its result exists once it has ended "
            "(poll GET /v1/extractions/{id} or subscribe to a webhook)"
        )
    if record.status == model.CANCELED:
        raise Conflict(f"extraction {extraction_id} was canceled; it has no result")
    return record


async def list_extractions(
    uow: ExtractionUnitOfWork, workspace_id: str, limit: int, cursor: str | None, query: ExtractionQuery
) -> list[ExtractionRecord]:
    if query.status is not None and query.status not in model.STATUSES:
        raise ValidationFailed(f"status: {query.status!r} is not one of {', '.join(model.STATUSES)}")
    if query.created_after and query.created_before and query.created_after >= query.created_before:
        raise ValidationFailed("createdAfter must be before createdBefore")
    async with uow:
        return await uow.extractions.page(workspace_id, limit, cursor, query)


async def cancel_extraction(
    uow: ExtractionUnitOfWork, workspace_id: str, extraction_id: str
) -> ExtractionRecord:
    """Queued or processing → canceled now; a worker running it stops at its next checkpoint."""
    async with uow:
        record = await uow.extractions.lock(extraction_id, workspace_id)
        if record is None:
            raise NotFound(f"extraction {extraction_id} not found")
        now = utcnow()
        record.cancel(now)  # InvalidTransition (409 CONFLICT) once it has ended
        await uow.extractions.save(record)
        await settle_run(uow, record, now)
        await uow.commit()
    log.info("extraction canceled", extraction_id=extraction_id)
    return record
