"""Kafka entry points: the job workers and the files-events listener."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from google.protobuf.message import DecodeError

from fieldstone.common.logging import get_logger
from fieldstone.extraction.adapters.outbox import JOB_REQUESTED
from fieldstone.extraction.service_layer import extractions
from fieldstone.extraction.service_layer.jobs import JobRunner
from fieldstone.extraction.service_layer.unit_of_work import ExtractionUnitOfWork
from fieldstone.messaging import InboundMessage
from fieldstone.proto.events.v1 import events_pb2

log = get_logger(__name__)
FILE_EVENTS = ("fieldstone.file.uploaded.v1", "fieldstone.file.rejected.v1", "fieldstone.file.deleted.v1")


def job_handler(runner: JobRunner) -> Callable[[InboundMessage], Awaitable[None]]:
    """One worker slot: a job at a time; the offset is committed once the job has an outcome."""

    async def handle(message: InboundMessage) -> None:
        if message.event is None or message.event.type != JOB_REQUESTED:
            return
        try:
            job = events_pb2.ExtractionJobRequested.FromString(message.event.data)
        except DecodeError:
            log.error("unreadable job skipped", ce_id=message.event.id)
            return
        # Idempotent without an inbox: the extraction's status and lease decide what runs.
        await runner.run(job.extraction_id)

    return handle


def files_handler(
    uow_factory: Callable[[], ExtractionUnitOfWork],
) -> Callable[[InboundMessage], Awaitable[None]]:
    async def handle(message: InboundMessage) -> None:
        if message.event is None or message.event.type not in FILE_EVENTS:
            return
        change = events_pb2.FileStatusChanged.FromString(message.event.data)
        # Idempotent without an inbox: only extractions still waiting for the file move.
        await extractions.file_status_changed(
            uow_factory(), change.file_id, change.status, change.rejection_reason or None
        )

    return handle
