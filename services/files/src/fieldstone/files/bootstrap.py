"""Composition root of the files service."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fieldstone.blob import BlobStore
from fieldstone.files.adapters.pdf import inspect_pdf_async
from fieldstone.files.adapters.plan_limits import ConfiguredPlanLimits, UsagePlanLimits
from fieldstone.files.config import FilesSettings
from fieldstone.files.entrypoints.grpc_servicer import FileServicer
from fieldstone.files.entrypoints.storage_consumer import storage_handler
from fieldstone.files.entrypoints.sweeper import sweeper
from fieldstone.files.service_layer.ports import PlanLimits, Uploads
from fieldstone.files.service_layer.unit_of_work import FilesUnitOfWork
from fieldstone.grpc import insecure_channel
from fieldstone.messaging import Topics
from fieldstone.proto.files.v1 import files_pb2_grpc
from fieldstone.service import Runtime

MIGRATIONS = Path(__file__).parent / "migrations"


def upload_store(s: FilesSettings) -> BlobStore:
    return BlobStore(
        s.s3_endpoint, s.s3_access_key, s.s3_secret_key, secure=s.s3_secure, public_endpoint=s.s3_public_url
    )


def uploads(s: FilesSettings, store: BlobStore, limits: PlanLimits) -> Uploads:
    return Uploads(
        store=store,
        limits=limits,
        inspect_pdf=inspect_pdf_async,
        bucket=s.bucket,
        upload_ttl=timedelta(seconds=s.upload_url_ttl_seconds),
        download_ttl=timedelta(seconds=s.download_url_ttl_seconds),
        expiry_grace=timedelta(seconds=s.expiry_grace_seconds),
        inline_max_bytes=s.inline_upload_max_bytes,
    )


async def build(runtime: Runtime) -> None:
    settings = runtime.settings
    assert isinstance(settings, FilesSettings)
    store = upload_store(settings)
    await store.ensure_bucket(settings.bucket)
    await store.notify_on_create(settings.bucket, settings.notify_queue_arn)
    defaults = ConfiguredPlanLimits(settings.default_max_size_bytes, settings.default_max_pages)
    limits: PlanLimits = defaults
    if settings.usage_grpc_target:
        usage_channel = insecure_channel(settings.usage_grpc_target)
        runtime.on_close(usage_channel.close)
        limits = UsagePlanLimits(usage_channel, defaults)
    up = uploads(settings, store, limits)

    def uow() -> FilesUnitOfWork:
        return FilesUnitOfWork(runtime.pool)

    runtime.grpc.add(
        files_pb2_grpc.add_FileServiceServicer_to_server,
        FileServicer(uow, up),
        "fieldstone.files.v1.FileService",
    )
    runtime.consume("storage", (Topics.STORAGE,), storage_handler(uow, up))
    if settings.sweep_interval_seconds > 0:
        runtime.background(
            sweeper(
                uow, up, interval=settings.sweep_interval_seconds, older_than=settings.sweep_min_age_seconds
            )
        )
