"""Kafka entry points: the job worker and the files-events listener."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fieldstone.common.logging import get_logger
from fieldstone.extraction.service_layer import handlers
from fieldstone.extraction.service_layer.unit_of_work import ExtractionUnitOfWork
from fieldstone.messaging import InboundMessage
from fieldstone.proto.events.v1 import events_pb2

log = get_logger(__name__)


def job_handler(
    uow_factory: Callable[[], ExtractionUnitOfWork], engine: handlers.Engine, max_attempts: int
) -> Callable[[InboundMessage], Awaitable[None]]:
    async def handle(message: InboundMessage) -> None:
        if message.event is None or message.event.type != "fieldstone.extraction_job.requested.v1":
            return
        job = events_pb2.ExtractionJobRequested.FromString(message.event.data)
        await handlers.run_job(uow_factory, job.extraction_id, engine, max_attempts)

    return handle


def files_handler(
    uow_factory: Callable[[], ExtractionUnitOfWork],
) -> Callable[[InboundMessage], Awaitable[None]]:
    async def handle(message: InboundMessage) -> None:
        if message.event is None or message.event.type not in (
            "fieldstone.file.uploaded.v1",
            "fieldstone.file.rejected.v1",
            "fieldstone.file.deleted.v1",
        ):
            return
        change = events_pb2.FileStatusChanged.FromString(message.event.data)
        # Idempotent without an inbox: only extractions still waiting for the file move.
        await handlers.file_status_changed(
            uow_factory(), change.file_id, change.status, change.rejection_reason or None
        )

    return handle
