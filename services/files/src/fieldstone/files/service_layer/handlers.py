"""Use cases of the files service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from fieldstone.common.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from fieldstone.common.ids import new_id
from fieldstone.common.logging import get_logger
from fieldstone.common.time import utcnow
from fieldstone.files.domain import model
from fieldstone.files.service_layer.unit_of_work import FilesUnitOfWork
from fieldstone.grpc.convert import to_timestamp
from fieldstone.messaging import Topics, publish
from fieldstone.proto.events.v1 import events_pb2

SOURCE = "/fieldstone/files"
log = get_logger(__name__)


class Blobs(Protocol):
    async def presigned_put(self, bucket: str, key: str, expires: timedelta) -> str: ...

    async def read(self, bucket: str, key: str, *, offset: int = 0, length: int = 0) -> bytes: ...


@dataclass(frozen=True)
class UploadTarget:
    file: model.FileRecord
    url: str
    headers: dict[str, str]
    expires_at: datetime


async def create_upload(
    uow: FilesUnitOfWork,
    blobs: Blobs,
    *,
    workspace_id: str,
    filename: str,
    content_type: str,
    size_bytes: int,
    max_size_bytes: int,
    bucket: str,
    ttl: timedelta,
) -> UploadTarget:
    filename = filename.strip()
    if not filename or len(filename) > model.MAX_FILENAME or "/" in filename or "\x00" in filename:
        raise ValidationFailed("filename must be 1-255 characters without '/'")
    content_type = content_type.split(";")[0].strip().lower()
    if content_type not in model.ACCEPTED_TYPES:
        raise UnsupportedMediaType(
            f"contentType {content_type!r} is not accepted; use one of {', '.join(model.ACCEPTED_TYPES)}"
        )
    if size_bytes <= 0:
        raise ValidationFailed("sizeBytes must be a positive integer")
    if size_bytes > max_size_bytes:
        raise PayloadTooLarge(f"sizeBytes {size_bytes} exceeds the plan's limit of {max_size_bytes} bytes")
    file_id = new_id("file")
    record = model.FileRecord(
        id=file_id,
        workspace_id=workspace_id,
        filename=filename,
        content_type=content_type,
        size_bytes=size_bytes,
        status=model.PENDING_UPLOAD,
        rejection_reason=None,
        rejection_message=None,
        bucket=bucket,
        object_key=f"{workspace_id}/{file_id}",
        created_at=utcnow(),
        uploaded_at=None,
    )
    url = await blobs.presigned_put(bucket, record.object_key, ttl)
    async with uow:
        await uow.files.add(record)
        await uow.commit()
    return UploadTarget(record, url, {"Content-Type": content_type}, record.created_at + ttl)


async def get_file(uow: FilesUnitOfWork, workspace_id: str, file_id: str) -> model.FileRecord:
    async with uow:
        record = await uow.files.get(workspace_id, file_id)
    if record is None:
        raise NotFound(f"file {file_id} not found")
    return record


async def list_files(
    uow: FilesUnitOfWork, workspace_id: str, limit: int, cursor: str | None
) -> list[model.FileRecord]:
    async with uow:
        return await uow.files.page(workspace_id, limit, cursor)


async def object_created(
    uow: FilesUnitOfWork, blobs: Blobs, *, bucket: str, key: str, size: int
) -> str | None:
    """Verify an uploaded object against its declaration; returns the new status, or None.

    Idempotent: only a file still `pending_upload` changes, under a row lock, so a
    redelivered or duplicated notification has no second effect.
    """
    async with uow:
        record = await uow.files.lock_by_object(bucket, key)
        if record is None or record.status != model.PENDING_UPLOAD:
            return None
        head = await blobs.read(bucket, key, offset=0, length=model.MAGIC_BYTES_NEEDED) if size else b""
        rejection = model.check_upload(record.content_type, record.size_bytes, size, head)
        now = utcnow()
        if rejection is None:
            record = await uow.files.mark(record.id, model.UPLOADED, now)
        else:
            record = await uow.files.mark(record.id, model.REJECTED, now, rejection.reason, rejection.message)
        await publish(
            uow.conn,
            topic=Topics.FILES,
            key=record.id,
            ce_type=f"fieldstone.file.{record.status}.v1",
            source=SOURCE,
            subject=record.id,
            message=events_pb2.FileStatusChanged(
                file_id=record.id,
                workspace_id=record.workspace_id,
                status=record.status,
                bucket=record.bucket,
                object_key=record.object_key,
                content_type=record.content_type,
                size_bytes=size,
                rejection_reason=record.rejection_reason or "",
                rejection_message=record.rejection_message or "",
                occurred_at=to_timestamp(now),
            ),
        )
        await uow.commit()
    log.info("upload verified", file_id=record.id, status=record.status, reason=record.rejection_reason)
    return record.status
