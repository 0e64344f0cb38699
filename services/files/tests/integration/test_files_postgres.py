"""Upload targets and upload verification on the real Postgres (the object store is faked)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fieldstone.common.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from fieldstone.files.bootstrap import MIGRATIONS
from fieldstone.files.service_layer import handlers
from fieldstone.files.service_layer.unit_of_work import FilesUnitOfWork
from fieldstone.messaging import MIGRATIONS as MESSAGING_MIGRATIONS
from fieldstone.pg import create_pool, migrate

pytestmark = pytest.mark.integration
PDF = b"%PDF-1.7\n" + b"x" * 91


class FakeBlobs:
    def __init__(self, content: bytes) -> None:
        self.content = content

    async def presigned_put(self, bucket: str, key: str, expires: timedelta) -> str:
        return f"http://store/{bucket}/{key}?sig=1"

    async def read(self, bucket: str, key: str, *, offset: int = 0, length: int = 0) -> bytes:
        return self.content[offset : offset + length if length else None]


async def test_upload_is_verified_once_and_announced(database_url: str) -> None:
    pool = await create_pool(database_url)
    await migrate(pool, MESSAGING_MIGRATIONS, MIGRATIONS)

    def uow() -> FilesUnitOfWork:
        return FilesUnitOfWork(pool)

    args = {"workspace_id": "ws_1", "max_size_bytes": 1000, "bucket": "b", "ttl": timedelta(minutes=15)}
    target = await handlers.create_upload(
        uow(), FakeBlobs(PDF), filename="a.pdf", content_type="application/pdf", size_bytes=len(PDF), **args
    )
    assert target.file.status == "pending_upload" and target.url.startswith("http://store/b/ws_1/")
    key = target.file.object_key
    assert (
        await handlers.object_created(uow(), FakeBlobs(PDF), bucket="b", key=key, size=len(PDF)) == "uploaded"
    )
    # A duplicated notification changes nothing and announces nothing again.
    assert await handlers.object_created(uow(), FakeBlobs(PDF), bucket="b", key=key, size=len(PDF)) is None
    assert await handlers.object_created(uow(), FakeBlobs(PDF), bucket="b", key="unknown", size=1) is None
    assert [r["ce_type"] for r in await pool.fetch("SELECT ce_type FROM outbox")] == [
        "fieldstone.file.uploaded.v1"
    ]

    png = await handlers.create_upload(
        uow(), FakeBlobs(PDF), filename="b.png", content_type="image/png", size_bytes=len(PDF), **args
    )
    status = await handlers.object_created(
        uow(), FakeBlobs(PDF), bucket="b", key=png.file.object_key, size=len(PDF)
    )
    assert status == "rejected"
    rejected = await handlers.get_file(uow(), "ws_1", png.file.id)
    assert rejected.rejection_reason == "TYPE_MISMATCH"

    with pytest.raises(NotFound):
        await handlers.get_file(uow(), "ws_2", png.file.id)
    with pytest.raises(UnsupportedMediaType):
        await handlers.create_upload(
            uow(), FakeBlobs(PDF), filename="a", content_type="text/html", size_bytes=5, **args
        )
    with pytest.raises(PayloadTooLarge):
        await handlers.create_upload(
            uow(), FakeBlobs(PDF), filename="a", content_type="image/png", size_bytes=5000, **args
        )
    with pytest.raises(ValidationFailed):
        await handlers.create_upload(
            uow(), FakeBlobs(PDF), filename="a/b", content_type="image/png", size_bytes=5, **args
        )
    assert len(await handlers.list_files(uow(), "ws_1", 10, None)) == 2
    await pool.close()
