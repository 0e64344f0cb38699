"""Use cases of the public file API: declare, upload inline, read, list, delete, download.

Verification itself (notification, reader, sweep, inline) lives in verification.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from fieldstone.common.errors import (
    Conflict,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from fieldstone.common.ids import is_valid_id, new_id
from fieldstone.common.logging import get_logger
from fieldstone.common.time import utcnow
from fieldstone.files.domain import model
from fieldstone.files.service_layer import verification
from fieldstone.files.service_layer.ports import UowFactory, Uploads
from fieldstone.files.service_layer.unit_of_work import FilesUnitOfWork

log = get_logger(__name__)


@dataclass(frozen=True)
class UploadTarget:
    file: model.FileRecord
    url: str
    headers: dict[str, str]
    expires_at: datetime
    limits: model.Limits


def _declare(filename: str, content_type: str, size_bytes: int, max_size_bytes: int) -> model.Declaration:
    try:
        return model.declare(filename, content_type, size_bytes, max_size_bytes)
    except model.InvalidDeclaration as exc:
        error = {"unsupported_type": UnsupportedMediaType, "too_large": PayloadTooLarge}
        raise error.get(exc.kind, ValidationFailed)(exc.message) from None


async def _plan(up: Uploads, workspace_id: str, max_size_bytes: int) -> tuple[model.Limits, int]:
    """The workspace's limits, and the size cap: the plan's, lowered by the caller's if it gave one."""
    limits = await up.limits.for_workspace(workspace_id)
    return limits, min(limits.max_file_bytes, max_size_bytes or limits.max_file_bytes)


def _new_record(
    up: Uploads, workspace_id: str, d: model.Declaration, limits: model.Limits, now: datetime
) -> model.FileRecord:
    file_id = new_id("file")
    return model.FileRecord(
        id=file_id,
        workspace_id=workspace_id,
        filename=d.filename,
        content_type=d.content_type,
        size_bytes=d.size_bytes,
        status=model.PENDING_UPLOAD,
        rejection_reason=None,
        rejection_message=None,
        bucket=up.bucket,
        # Keys are ours alone: workspace and file id, never anything the client named.
        object_key=model.object_key(workspace_id, file_id),
        upload_key=model.upload_key(workspace_id, file_id),
        created_at=now,
        uploaded_at=None,
        upload_expires_at=now + up.upload_ttl,
        # The page limit is fixed when the upload is declared, so verification never depends on usage.
        max_pages=limits.max_pages,
    )


async def create_upload(
    uow: FilesUnitOfWork,
    up: Uploads,
    *,
    workspace_id: str,
    filename: str,
    content_type: str,
    size_bytes: int,
    max_size_bytes: int = 0,
    now: datetime | None = None,
) -> UploadTarget:
    now = now or utcnow()
    limits, cap = await _plan(up, workspace_id, max_size_bytes)
    record = _new_record(up, workspace_id, _declare(filename, content_type, size_bytes, cap), limits, now)
    url = await up.store.upload_url(up.bucket, record.upload_key, up.upload_ttl, now)
    async with uow:
        await uow.files.add(record)
        await uow.commit()
    assert record.upload_expires_at is not None
    return UploadTarget(record, url, {"Content-Type": record.content_type}, record.upload_expires_at, limits)


async def upload_inline(
    uow_factory: UowFactory,
    up: Uploads,
    *,
    workspace_id: str,
    filename: str,
    content_type: str,
    size_bytes: int,
    chunks: AsyncIterator[bytes],
    max_size_bytes: int = 0,
    now: datetime | None = None,
) -> tuple[model.FileRecord, model.Limits]:
    """Store a small file sent through the platform and verify it before answering."""
    now = now or utcnow()
    limits, cap = await _plan(up, workspace_id, max_size_bytes)
    declared = _declare(filename, content_type, size_bytes, cap)
    if declared.size_bytes > up.inline_max_bytes:
        raise PayloadTooLarge(
            f"uploads through the API are limited to {up.inline_max_bytes} bytes; "
            "create a direct upload (JSON body) for larger files"
        )
    data = bytearray()
    async for chunk in chunks:
        if len(data) + len(chunk) > declared.size_bytes:
            raise ValidationFailed(f"the content is longer than sizeBytes ({declared.size_bytes})")
        data.extend(chunk)
    record = _new_record(up, workspace_id, declared, limits, now)
    async with uow_factory() as uow:
        await uow.files.add(record)
        await uow.commit()
    await up.store.put(up.bucket, record.upload_key, bytes(data), record.content_type)
    async with uow_factory() as uow:
        locked = await uow.files.get(workspace_id, record.id, for_update=True)
        if locked is not None and locked.status == model.PENDING_UPLOAD:
            verified = await verification.verify(uow, up, locked, model.VIA_INLINE, now)
            await uow.commit()
            record = verified or locked
        elif locked is not None:
            record = locked  # its notification was faster
    return record, limits


def _known_id(file_id: str) -> None:
    # Malformed ids are not looked up at all (and never reach SQL with bytes Postgres refuses).
    if not is_valid_id(file_id, "file"):
        raise NotFound(f"file {file_id!r} not found")


async def get_file(
    uow_factory: UowFactory,
    up: Uploads,
    workspace_id: str,
    file_id: str,
    *,
    verify: bool = False,
    include_deleted: bool = False,
    now: datetime | None = None,
) -> model.FileRecord:
    _known_id(file_id)
    async with uow_factory() as uow:
        record = await uow.files.get(workspace_id, file_id)
    if record is not None and verify and record.status == model.PENDING_UPLOAD:
        record = (
            await verification.reconcile(uow_factory, up, workspace_id, file_id, now or utcnow()) or record
        )
    if record is None or (record.status == model.DELETED and not include_deleted):
        raise NotFound(f"file {file_id} not found")
    return record


async def list_files(
    uow: FilesUnitOfWork, workspace_id: str, limit: int, cursor: str | None, status: str | None = None
) -> list[model.FileRecord]:
    if cursor is not None and not is_valid_id(cursor, "file"):
        raise ValidationFailed("cursor is not valid: pass the nextCursor of a previous page")
    async with uow:
        return await uow.files.page(workspace_id, limit, cursor, status)


async def delete_file(
    uow: FilesUnitOfWork, up: Uploads, workspace_id: str, file_id: str, now: datetime | None = None
) -> model.FileRecord:
    """Remove the stored bytes, keep a tombstone, and announce `file.deleted`."""
    _known_id(file_id)
    now = now or utcnow()
    async with uow:
        record = await uow.files.get(workspace_id, file_id, for_update=True)
        if record is None or record.status == model.DELETED:
            raise NotFound(f"file {file_id} not found")
        # Removed before the commit: a failure leaves the file as it was, and the client retries.
        if record.upload_key != record.object_key:
            await up.store.remove(record.bucket, record.upload_key)
        await up.store.remove(record.bucket, record.object_key)
        record = await uow.files.mark_deleted(record.id, now)
        await verification.announce(uow, record, now)
        await uow.commit()
    log.info("file deleted", file_id=file_id)
    return record


async def download_url(
    uow: FilesUnitOfWork, up: Uploads, workspace_id: str, file_id: str
) -> tuple[model.FileRecord, str, datetime]:
    _known_id(file_id)
    async with uow:
        record = await uow.files.get(workspace_id, file_id)
    if record is None:
        raise NotFound(f"file {file_id} not found")
    if record.status != model.UPLOADED:
        raise Conflict(model.unavailable_because(record))
    url = await up.store.download_url(record.bucket, record.object_key, up.download_ttl)
    return record, url, utcnow() + up.download_ttl
