"""Domain events → CloudEvents in the outbox (topic, key, type, protobuf payload)."""

from __future__ import annotations

from typing import Any

from fieldstone.common.time import utcnow
from fieldstone.extraction.domain.events import Event, JobRequested, RunCompleted, StatusChanged
from fieldstone.grpc.convert import to_timestamp
from fieldstone.messaging import Topics, publish
from fieldstone.proto.events.v1 import events_pb2

SOURCE = "/fieldstone/extraction"
JOB_REQUESTED = "fieldstone.extraction_job.requested.v1"
RUN_COMPLETED = "fieldstone.run.completed.v1"


def status_type(status: str) -> str:
    return f"fieldstone.extraction.{status}.v1"


async def write(conn: Any, event: Event) -> str:
    """Add one event to the outbox on `conn` (inside the caller's transaction)."""
    now = to_timestamp(utcnow())
    if isinstance(event, StatusChanged):
        return await publish(
            conn,
            topic=Topics.EXTRACTIONS,
            key=event.extraction_id,
            ce_type=status_type(event.status),
            source=SOURCE,
            subject=event.extraction_id,
            message=events_pb2.ExtractionStatusChanged(
                extraction_id=event.extraction_id,
                workspace_id=event.workspace_id,
                file_id=event.file_id,
                template_id=event.template_id or "",
                status=event.status,
                error_code=event.error_code or "",
                error=event.error or "",
                run_id=event.run_id or "",
                page_count=event.page_count or 0,
                processing_time_ms=event.processing_time_ms or 0,
                occurred_at=now,
            ),
        )
    if isinstance(event, JobRequested):
        return await publish(
            conn,
            topic=Topics.EXTRACTION_JOBS,
            key=event.extraction_id,
            ce_type=JOB_REQUESTED,
            source=SOURCE,
            subject=event.extraction_id,
            message=events_pb2.ExtractionJobRequested(
                extraction_id=event.extraction_id,
                workspace_id=event.workspace_id,
                file_id=event.file_id,
                bucket=event.bucket or "",
                object_key=event.object_key or "",
                occurred_at=now,
            ),
        )
    assert isinstance(event, RunCompleted)
    return await publish(
        conn,
        topic=Topics.EXTRACTIONS,
        key=event.run_id,
        ce_type=RUN_COMPLETED,
        source=SOURCE,
        subject=event.run_id,
        message=events_pb2.RunCompleted(
            run_id=event.run_id,
            workspace_id=event.workspace_id,
            template_id=event.template_id or "",
            total=event.total,
            completed=event.completed,
            failed=event.failed,
            canceled=event.canceled,
            occurred_at=now,
        ),
    )
