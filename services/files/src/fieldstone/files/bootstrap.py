"""Composition root of the files service."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fieldstone.blob import BlobStore
from fieldstone.files.config import FilesSettings
from fieldstone.files.entrypoints.grpc_servicer import FileServicer
from fieldstone.files.entrypoints.storage_consumer import storage_handler
from fieldstone.files.service_layer.unit_of_work import FilesUnitOfWork
from fieldstone.messaging import Topics
from fieldstone.proto.files.v1 import files_pb2_grpc
from fieldstone.service import Runtime

MIGRATIONS = Path(__file__).parent / "migrations"


def blob_store(s: FilesSettings) -> BlobStore:
    return BlobStore(
        s.s3_endpoint, s.s3_access_key, s.s3_secret_key, secure=s.s3_secure, public_endpoint=s.s3_public_url
    )


async def build(runtime: Runtime) -> None:
    settings = runtime.settings
    assert isinstance(settings, FilesSettings)
    blobs = blob_store(settings)
    await blobs.ensure_bucket(settings.bucket)
    await blobs.notify_on_create(settings.bucket, settings.notify_queue_arn)

    def uow() -> FilesUnitOfWork:
        return FilesUnitOfWork(runtime.pool)

    servicer = FileServicer(
        uow,
        blobs,
        bucket=settings.bucket,
        ttl=timedelta(seconds=settings.upload_url_ttl_seconds),
        default_max_size=settings.default_max_size_bytes,
    )
    runtime.grpc.add(
        files_pb2_grpc.add_FileServiceServicer_to_server, servicer, "fieldstone.files.v1.FileService"
    )
    runtime.consume("storage", (Topics.STORAGE,), storage_handler(uow, blobs, settings.bucket))
