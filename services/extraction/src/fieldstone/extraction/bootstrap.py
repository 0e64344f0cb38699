"""Composition root of the extraction service: API, job workers and the files listener."""

from __future__ import annotations

from pathlib import Path

from fieldstone.blob import BlobStore
from fieldstone.extraction.adapters.clients import FilesClient, QuotaClient, channel
from fieldstone.extraction.adapters.engine import DocumentEngine
from fieldstone.extraction.config import ExtractionSettings
from fieldstone.extraction.entrypoints.consumers import files_handler, job_handler
from fieldstone.extraction.entrypoints.grpc_servicer import ExtractionServicer
from fieldstone.extraction.service_layer.unit_of_work import ExtractionUnitOfWork
from fieldstone.messaging import Topics
from fieldstone.proto.extraction.v1 import extraction_pb2_grpc
from fieldstone.service import Runtime

MIGRATIONS = Path(__file__).parent / "migrations"


async def build(runtime: Runtime) -> None:
    s = runtime.settings
    assert isinstance(s, ExtractionSettings)

    def uow() -> ExtractionUnitOfWork:
        return ExtractionUnitOfWork(runtime.pool)

    files_channel, usage_channel = channel(s.files_grpc_target), channel(s.usage_grpc_target)
    runtime.on_close(files_channel.close)
    runtime.on_close(usage_channel.close)
    servicer = ExtractionServicer(uow, FilesClient(files_channel), QuotaClient(usage_channel))
    runtime.grpc.add(
        extraction_pb2_grpc.add_ExtractionServiceServicer_to_server,
        servicer,
        "fieldstone.extraction.v1.ExtractionService",
    )
    blobs = BlobStore(s.s3_endpoint, s.s3_access_key, s.s3_secret_key, secure=s.s3_secure)
    engine = DocumentEngine(blobs, max_pages=s.max_pages, timeout_seconds=s.job_timeout_seconds)
    runtime.consume("jobs", (Topics.EXTRACTION_JOBS,), job_handler(uow, engine, s.max_attempts), max_batch=4)
    runtime.consume("files", (Topics.FILES,), files_handler(uow))
