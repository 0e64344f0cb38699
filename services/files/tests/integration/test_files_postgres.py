"""Upload targets and upload verification on the real Postgres (the object store is faked)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import pytest

from fieldstone.common.errors import (
    Conflict,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from fieldstone.common.time import utcnow
from fieldstone.files.adapters.pdf import inspect_pdf_async
from fieldstone.files.adapters.plan_limits import ConfiguredPlanLimits
from fieldstone.files.bootstrap import MIGRATIONS
from fieldstone.files.service_layer import handlers, verification
from fieldstone.files.service_layer.ports import Uploads
from fieldstone.files.service_layer.unit_of_work import FilesUnitOfWork
from fieldstone.messaging import MIGRATIONS as MESSAGING_MIGRATIONS
from fieldstone.pg import create_pool, migrate

pytestmark = pytest.mark.integration
PNG = b"\x89PNG\r\n\x1a\n" + b"x" * 92


@dataclass(frozen=True)
class Stored:
    size: int
    etag: str


class FakeStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    async def upload_url(self, bucket: str, key: str, expires: timedelta, issued_at: datetime) -> str:
        return f"http://store/{bucket}/{key}?sig=1"

    async def download_url(self, bucket: str, key: str, expires: timedelta) -> str:
        return f"http://store/{bucket}/{key}?get=1"

    async def stat(self, bucket: str, key: str) -> Stored | None:
        data = self.objects.get(key)
        return None if data is None else Stored(len(data), str(hash(data)))

    async def read_version(
        self, bucket: str, key: str, etag: str, *, offset: int = 0, length: int = 0
    ) -> bytes:
        return self.objects[key][offset : offset + length if length else None]

    async def promote(self, bucket: str, source: str, target: str, etag: str) -> None:
        self.objects[target] = self.objects.pop(source)

    async def remove(self, bucket: str, key: str) -> None:
        self.objects.pop(key, None)

    async def put(self, bucket: str, key: str, data: bytes, content_type: str = "") -> None:
        self.objects[key] = data


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url)
    await migrate(pool, MESSAGING_MIGRATIONS, MIGRATIONS)
    yield pool
    await pool.close()


def uploads(store: FakeStore) -> Uploads:
    return Uploads(
        store=store,
        limits=ConfiguredPlanLimits(max_file_bytes=1000, max_pages=5),
        inspect_pdf=inspect_pdf_async,
        bucket="b",
        upload_ttl=timedelta(minutes=15),
    )


async def test_upload_is_verified_once_and_announced(pool: asyncpg.Pool) -> None:
    def uow() -> FilesUnitOfWork:
        return FilesUnitOfWork(pool)

    store = FakeStore()
    up = uploads(store)
    target = await handlers.create_upload(
        uow(), up, workspace_id="ws_1", filename="a.png", content_type="image/png", size_bytes=len(PNG)
    )
    f = target.file
    assert f.status == "pending_upload" and target.url == f"http://store/b/uploads/ws_1/{f.id}?sig=1"
    assert target.limits.max_pages == 5 and target.expires_at == f.created_at + timedelta(minutes=15)
    store.objects[f.upload_key] = PNG
    assert await verification.object_created(uow(), up, bucket="b", key=f.upload_key) == "uploaded"
    assert store.objects == {f"files/ws_1/{f.id}": PNG}  # promoted out of the writable key
    # A duplicated notification changes nothing and announces nothing again.
    assert await verification.object_created(uow(), up, bucket="b", key=f.upload_key) is None
    assert await verification.object_created(uow(), up, bucket="b", key="unknown") is None
    # Written again through the still-valid URL: the stray copy goes, the verified one stays.
    store.objects[f.upload_key] = b"evil"
    assert await verification.object_created(uow(), up, bucket="b", key=f.upload_key) is None
    assert store.objects == {f"files/ws_1/{f.id}": PNG}
    assert [r["ce_type"] for r in await pool.fetch("SELECT ce_type FROM outbox")] == [
        "fieldstone.file.uploaded.v1"
    ]
    got = await handlers.get_file(uow, up, "ws_1", f.id)
    assert got.verified_by == "notification" and got.etag and got.uploaded_at
    _, url, _ = await handlers.download_url(uow(), up, "ws_1", f.id)
    assert url.endswith(f"files/ws_1/{f.id}?get=1")

    wrong = await handlers.create_upload(
        uow(), up, workspace_id="ws_1", filename="b.pdf", content_type="application/pdf", size_bytes=len(PNG)
    )
    store.objects[wrong.file.upload_key] = PNG
    assert await verification.object_created(uow(), up, bucket="b", key=wrong.file.upload_key) == "rejected"
    rejected = await handlers.get_file(uow, up, "ws_1", wrong.file.id)
    assert rejected.rejection_reason == "TYPE_MISMATCH" and wrong.file.upload_key not in store.objects
    with pytest.raises(Conflict, match="TYPE_MISMATCH"):
        await handlers.download_url(uow(), up, "ws_1", wrong.file.id)

    with pytest.raises(NotFound):
        await handlers.get_file(uow, up, "ws_2", wrong.file.id)
    args = {"workspace_id": "ws_1", "filename": "a"}
    with pytest.raises(UnsupportedMediaType):
        await handlers.create_upload(uow(), up, content_type="text/html", size_bytes=5, **args)
    with pytest.raises(PayloadTooLarge):
        await handlers.create_upload(uow(), up, content_type="image/png", size_bytes=1001, **args)
    with pytest.raises(PayloadTooLarge):  # a caller's cap below the plan's
        await handlers.create_upload(
            uow(), up, content_type="image/png", size_bytes=50, max_size_bytes=10, **args
        )
    with pytest.raises(ValidationFailed):
        await handlers.create_upload(
            uow(), up, workspace_id="ws_1", filename="../a", content_type="image/png", size_bytes=5
        )
    assert len(await handlers.list_files(uow(), "ws_1", 10, None)) == 2
    assert [r.id for r in await handlers.list_files(uow(), "ws_1", 10, None, "rejected")] == [wrong.file.id]


async def test_delete_leaves_a_tombstone_and_lists_skip_it(pool: asyncpg.Pool) -> None:
    def uow() -> FilesUnitOfWork:
        return FilesUnitOfWork(pool)

    store = FakeStore()
    up = uploads(store)
    t = await handlers.create_upload(
        uow(), up, workspace_id="ws_1", filename="a.png", content_type="image/png", size_bytes=len(PNG)
    )
    store.objects[t.file.upload_key] = PNG
    await verification.object_created(uow(), up, bucket="b", key=t.file.upload_key)
    deleted = await handlers.delete_file(uow(), up, "ws_1", t.file.id)
    assert deleted.status == "deleted" and deleted.deleted_at and store.objects == {}
    with pytest.raises(NotFound):
        await handlers.get_file(uow, up, "ws_1", t.file.id)
    tombstone = await handlers.get_file(uow, up, "ws_1", t.file.id, include_deleted=True)
    assert tombstone.status == "deleted"
    with pytest.raises(NotFound):
        await handlers.delete_file(uow(), up, "ws_1", t.file.id)
    assert await handlers.list_files(uow(), "ws_1", 10, None) == []
    types = [r["ce_type"] for r in await pool.fetch("SELECT ce_type FROM outbox ORDER BY seq")]
    assert types == ["fieldstone.file.uploaded.v1", "fieldstone.file.deleted.v1"]


async def test_sweep_settles_lost_notifications_and_expires_abandoned_uploads(pool: asyncpg.Pool) -> None:
    def uow() -> FilesUnitOfWork:
        return FilesUnitOfWork(pool)

    store = FakeStore()
    up = uploads(store)
    now = utcnow()

    async def create() -> str:
        t = await handlers.create_upload(
            uow(),
            up,
            workspace_id="ws_1",
            filename="a.png",
            content_type="image/png",
            size_bytes=len(PNG),
            now=now,
        )
        return t.file.id

    lost, abandoned, fresh = await create(), await create(), await create()
    store.objects[f"uploads/ws_1/{lost}"] = PNG
    # Too young to sweep: notifications normally arrive within a second.
    assert await verification.sweep_pending(uow, up, older_than=timedelta(seconds=30), now=now) == 0
    later = now + timedelta(minutes=1)
    assert await verification.sweep_pending(uow, up, older_than=timedelta(seconds=30), now=later) == 1
    assert (await handlers.get_file(uow, up, "ws_1", lost)).verified_by == "sweep"
    # Past the URL's expiry plus the grace period, what never arrived is EXPIRED.
    much_later = now + timedelta(minutes=17)
    assert await verification.sweep_pending(uow, up, older_than=timedelta(seconds=30), now=much_later) == 2
    for file_id in (abandoned, fresh):
        expired = await handlers.get_file(uow, up, "ws_1", file_id)
        assert (expired.status, expired.rejection_reason) == ("rejected", "EXPIRED")


async def test_inline_upload_is_verified_before_it_answers(pool: asyncpg.Pool) -> None:
    def uow() -> FilesUnitOfWork:
        return FilesUnitOfWork(pool)

    store = FakeStore()
    up = uploads(store)

    async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
        for p in parts:
            yield p

    args = {"workspace_id": "ws_1", "filename": "a.png", "content_type": "image/png"}
    record, limits = await handlers.upload_inline(
        uow, up, size_bytes=len(PNG), chunks=chunks(PNG[:50], PNG[50:]), **args
    )
    assert (record.status, record.verified_by, limits.max_file_bytes) == ("uploaded", "inline", 1000)
    assert store.objects[record.object_key] == PNG
    with pytest.raises(ValidationFailed, match="longer than sizeBytes"):
        await handlers.upload_inline(uow, up, size_bytes=10, chunks=chunks(PNG), **args)
    small = Uploads(**{**up.__dict__, "inline_max_bytes": 10})
    with pytest.raises(PayloadTooLarge, match="direct upload"):
        await handlers.upload_inline(uow, small, size_bytes=len(PNG), chunks=chunks(PNG), **args)
