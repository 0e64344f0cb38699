"""Batch runs: one template (or inline variables), many files, one extraction per file.

A run is created all or nothing: every file is checked and one unit of quota is reserved per
file before anything is stored; any refusal gives the reserved units back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from fieldstone.common.errors import NotFound
from fieldstone.common.ids import new_id
from fieldstone.common.logging import get_logger
from fieldstone.common.time import utcnow
from fieldstone.extraction.domain.model import ExtractionRecord, check_metadata
from fieldstone.extraction.domain.runs import RUNNING, Run, check_file_ids
from fieldstone.extraction.service_layer.extractions import (
    check_file,
    new_record,
    recheck_waiting,
    resolve_definition,
)
from fieldstone.extraction.service_layer.ports import Files, Quota
from fieldstone.extraction.service_layer.unit_of_work import ExtractionUnitOfWork

log = get_logger(__name__)
T = TypeVar("T")
# Calls to files and usage in flight at once while a run is created.
FAN_OUT = 16


async def _each(items: Sequence[str], call: Callable[[str], Awaitable[T]]) -> list[T | BaseException]:
    """`call(item)` for every item, FAN_OUT at a time; failures are returned, not raised."""
    gate = asyncio.Semaphore(FAN_OUT)

    async def one(item: str) -> T:
        async with gate:
            return await call(item)

    return await asyncio.gather(*(one(i) for i in items), return_exceptions=True)


def _first_error(results: list[Any]) -> BaseException | None:
    return next((r for r in results if isinstance(r, BaseException)), None)


async def create_run(
    uow: ExtractionUnitOfWork,
    files: Files,
    quota: Quota,
    *,
    workspace_id: str,
    file_ids: list[str],
    template_id: str | None = None,
    variables: Any = None,
    pages: str | None = None,
    metadata: dict[str, Any] | None = None,
    created_by: str | None = None,
) -> tuple[Run, list[ExtractionRecord]]:
    check_metadata(metadata)
    limits = await quota.plan_limits(workspace_id)
    check_file_ids(file_ids, limits.batch_size, limits.plan)
    definition = await resolve_definition(uow, workspace_id, template_id, variables)

    found = await _each(file_ids, lambda f: files.get(workspace_id, f))
    if error := _first_error(found):
        raise error
    infos = [f for f in found if not isinstance(f, BaseException)]
    for info in infos:
        check_file(info)

    now = utcnow()
    run = Run(
        id=new_id("run"),
        workspace_id=workspace_id,
        template_id=definition.template_id,
        template_version=definition.template_version,
        template_name=definition.template_name,
        variables=definition.variables,
        total=len(infos),
        status=RUNNING,
        created_at=now,
        created_by=created_by,
        metadata=metadata,
    )
    records = [
        new_record(
            workspace_id,
            info,
            definition,
            pages=pages,
            metadata=metadata,
            max_pages=limits.max_pages,
            created_by=created_by,
            now=now,
            run_id=run.id,
        )
        for info in infos
    ]
    ids = [r.id for r in records]
    reserved = await _each(ids, lambda i: quota.reserve(workspace_id, i))
    try:
        if error := _first_error(reserved):
            raise error
        async with uow:
            await uow.runs.add(run)
            for record in records:
                record.announce_queued()
            await uow.extractions.add_many(records)
            await uow.commit()
    except BaseException:
        held = [i for i, r in zip(ids, reserved, strict=True) if not isinstance(r, BaseException)]
        with contextlib.suppress(Exception):
            await _each(held, lambda i: quota.release(workspace_id, i))
        raise
    run.counts = {"queued": len(records)}
    log.info("run created", run_id=run.id, total=run.total)
    waiting = [r.file_id for r in records if r.waiting_for_file]
    if waiting:
        await recheck_waiting(uow, files, workspace_id, waiting)
    return run, records


async def get_run(uow: ExtractionUnitOfWork, workspace_id: str, run_id: str) -> Run:
    async with uow:
        run = await uow.runs.get(workspace_id, run_id)
    if run is None:
        raise NotFound(f"run {run_id} not found")
    return run
