"""Verifying an uploaded object and settling its file: the one path every trigger takes.

An upload is verified by whichever comes first: the bucket notification (`object_created`), a reader
asking with `verify` (`reconcile`; extractions do), the periodic sweep (`sweep_pending`), or the inline
upload itself. Each calls `verify` under the file's row lock and only a file still `pending_upload`
changes, so only the first has an effect.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fieldstone.blob import ObjectChanged
from fieldstone.common.logging import get_logger
from fieldstone.common.time import utcnow
from fieldstone.files.domain import model
from fieldstone.files.service_layer.ports import UowFactory, Uploads
from fieldstone.files.service_layer.unit_of_work import FilesUnitOfWork
from fieldstone.grpc.convert import to_timestamp
from fieldstone.messaging import Topics, publish
from fieldstone.proto.events.v1 import events_pb2

SOURCE = "/fieldstone/files"
log = get_logger(__name__)


async def reconcile(
    uow_factory: UowFactory, up: Uploads, workspace_id: str, file_id: str, now: datetime
) -> model.FileRecord | None:
    """Check a pending file's object now (its notification may have been lost); the fresh record."""
    async with uow_factory() as uow:
        record = await uow.files.get(workspace_id, file_id, for_update=True)
        if record is None or record.status != model.PENDING_UPLOAD:
            return record
        try:
            verified = await verify(uow, up, record, model.VIA_READ, now)
        except ObjectChanged:
            return record  # a newer upload is in flight; its own notification verifies it
        await uow.commit()
        return verified or record


async def object_created(
    uow: FilesUnitOfWork, up: Uploads, *, bucket: str, key: str, now: datetime | None = None
) -> str | None:
    """A bucket notification: verify the file uploaded to `key`; returns its new status, or None.

    Idempotent: only a file still `pending_upload` changes, under a row lock, so a redelivered or
    duplicated notification has no second effect.
    """
    async with uow:
        record = await uow.files.lock_by_upload_key(bucket, key)
        if record is None:
            return None  # a promoted copy, or not ours
        if record.status != model.PENDING_UPLOAD:
            if record.upload_key != record.object_key:
                # Written again through a URL that is still valid: the verified copy is elsewhere.
                await up.store.remove(bucket, key)
            return None
        try:
            verified = await verify(uow, up, record, model.VIA_NOTIFICATION, now or utcnow())
        except ObjectChanged:
            return None  # replaced meanwhile: the newer version's own notification follows
        await uow.commit()
    return verified.status if verified else None


async def sweep_pending(
    uow_factory: UowFactory,
    up: Uploads,
    *,
    older_than: timedelta,
    batch: int = 100,
    now: datetime | None = None,
) -> int:
    """Verify pending files whose notification never came, and expire those never uploaded."""
    now = now or utcnow()
    async with uow_factory() as uow:
        due = await uow.files.pending_due(now - older_than, batch)
    changed = 0
    for file_id in due:
        async with uow_factory() as uow:
            record = await uow.files.lock_pending(file_id)
            if record is None:
                continue  # settled meanwhile, or another replica holds it
            try:
                verified = await verify(uow, up, record, model.VIA_SWEEP, now)
            except ObjectChanged:
                verified = None
            if verified is None:
                await uow.files.checked(file_id, now)
            await uow.commit()
            changed += verified is not None
    return changed


async def verify(
    uow: FilesUnitOfWork, up: Uploads, record: model.FileRecord, via: str, now: datetime
) -> model.FileRecord | None:
    """Check the object of a pending, locked file and settle it; None while nothing was uploaded yet.

    Every read and the promotion are pinned to the ETag seen first, so the bytes promoted are the
    bytes checked even if the client writes again meanwhile (that raises ObjectChanged).
    """
    store = up.store
    stored = await store.stat(record.bucket, record.upload_key)
    if stored is None:
        assert record.upload_expires_at is not None
        if not model.expired(record.upload_expires_at, now, up.expiry_grace.total_seconds()):
            return None
        return await settle(uow, record, model.EXPIRED, via, now)
    rejection = model.check_size(record.size_bytes, stored.size)
    page_count = None
    if rejection is None and record.content_type == model.PDF:
        # Bounded: the size equals the declaration, which the plan capped.
        data = await store.read_version(record.bucket, record.upload_key, stored.etag)
        rejection = model.check_type(record.content_type, data[: model.MAGIC_BYTES_NEEDED])
        if rejection is None:
            facts = await up.inspect_pdf(data)
            # Files declared before limits were recorded on them (max_pages 0) use today's plan.
            max_pages = record.max_pages or (await up.limits.for_workspace(record.workspace_id)).max_pages
            rejection = model.check_pdf(data, facts, max_pages)
            page_count = facts.page_count
    elif rejection is None:
        head = await store.read_version(
            record.bucket, record.upload_key, stored.etag, length=model.MAGIC_BYTES_NEEDED
        )
        rejection = model.check_type(record.content_type, head)
    if rejection is not None:
        await store.remove(record.bucket, record.upload_key)
        return await settle(uow, record, rejection, via, now)
    if record.upload_key != record.object_key:
        await store.promote(record.bucket, record.upload_key, record.object_key, stored.etag)
    settled = await uow.files.mark_uploaded(record.id, now, etag=stored.etag, page_count=page_count, via=via)
    await announce(uow, settled, now)
    log.info("upload verified", file_id=record.id, status=settled.status, via=via)
    return settled


async def settle(
    uow: FilesUnitOfWork, record: model.FileRecord, rejection: model.Rejection, via: str, now: datetime
) -> model.FileRecord:
    settled = await uow.files.mark_rejected(
        record.id, now, reason=rejection.reason, message=rejection.message, via=via
    )
    await announce(uow, settled, now)
    log.info("upload rejected", file_id=record.id, reason=rejection.reason, via=via)
    return settled


async def announce(uow: FilesUnitOfWork, record: model.FileRecord, now: datetime) -> None:
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
            size_bytes=record.size_bytes,
            rejection_reason=record.rejection_reason or "",
            rejection_message=record.rejection_message or "",
            occurred_at=to_timestamp(now),
        ),
    )
