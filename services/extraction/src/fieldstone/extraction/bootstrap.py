"""Composition root of the extraction service: the gRPC API, the job workers and the files listener."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from fieldstone.blob import BlobStore
from fieldstone.common.logging import get_logger
from fieldstone.extraction.adapters.clients import FilesClient, QuotaClient, channel
from fieldstone.extraction.adapters.documents import StoredDocuments
from fieldstone.extraction.adapters.engine import SandboxedEngine
from fieldstone.extraction.adapters.topics import ensure_partitions
from fieldstone.extraction.config import ExtractionSettings
from fieldstone.extraction.entrypoints.consumers import files_handler, job_handler
from fieldstone.extraction.entrypoints.grpc_servicer import ExtractionServicer
from fieldstone.extraction.entrypoints.templates_servicer import TemplateServicer
from fieldstone.extraction.service_layer.jobs import JobPolicy, JobRunner
from fieldstone.extraction.service_layer.unit_of_work import ExtractionUnitOfWork
from fieldstone.messaging import Topics
from fieldstone.proto.extraction.v1 import extraction_pb2_grpc
from fieldstone.service import Runtime

MIGRATIONS = Path(__file__).parent / "migrations"
log = get_logger(__name__)


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
    runtime.grpc.add(
        extraction_pb2_grpc.add_TemplateServiceServicer_to_server,
        TemplateServicer(uow),
        "fieldstone.extraction.v1.TemplateService",
    )

    # Workers: `worker_concurrency` slots, each a consumer of the one "jobs" group with an
    # engine process of its own. More processes add slots; the topic has enough partitions.
    await ensure_partitions(s.kafka(), Topics.EXTRACTION_JOBS, s.job_partitions)
    blobs = BlobStore(s.s3_endpoint, s.s3_access_key, s.s3_secret_key, secure=s.s3_secure)
    documents = StoredDocuments(blobs, attempts=s.storage_read_attempts)
    policy = JobPolicy(
        max_attempts=s.max_attempts,
        lease_seconds=s.lease_seconds,
        max_pages=s.max_pages,
        honour_test_delay=s.test_only_delays,
    )
    if s.test_only_delays:
        log.warning("EXTRACTION_TEST_ONLY_DELAYS is on: jobs honour metadata.testOnlyDelaySeconds")
    host = f"{socket.gethostname()}/{os.getpid()}"
    for slot in range(s.worker_concurrency):
        engine = SandboxedEngine(timeout_seconds=s.job_timeout_seconds, memory_mb=s.engine_memory_mb)
        runtime.on_close(engine.close)
        engine.warm_up()
        runner = JobRunner(uow, documents, engine, policy, worker=f"{host}/{slot}", stop=runtime.stop)
        runtime.consume("jobs", (Topics.EXTRACTION_JOBS,), job_handler(runner), max_batch=1)
    runtime.consume("files", (Topics.FILES,), files_handler(uow))
