"""Uploads against the real MinIO and Postgres, with no bucket notification and no consumer at all.

This is the files service with its notifications lost (MinIO restarted, Kafka down): the tests show
that a reader asking with `verify` and the periodic sweep still settle every file, and what MinIO
itself enforces on the presigned URLs.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from fpdf import FPDF
from minio import Minio

from fieldstone.blob import BlobStore
from fieldstone.common.errors import Conflict
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
S3 = os.environ.get("FIELDSTONE_S3_ENDPOINT", "127.0.0.1:19000")
ACCESS = os.environ.get("FIELDSTONE_S3_ACCESS_KEY", "fieldstone")
SECRET = os.environ.get("FIELDSTONE_S3_SECRET_KEY", "fieldstone-dev-secret")


def a_pdf(pages: int = 1) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for i in range(pages):
        pdf.add_page()
        pdf.cell(0, 8, f"page {i + 1}")
    return bytes(pdf.output())


class Harness:
    def __init__(self, pool: asyncpg.Pool, bucket: str) -> None:
        self.pool = pool
        self.bucket = bucket
        self.store = BlobStore(S3, ACCESS, SECRET, public_endpoint=f"http://{S3}")
        self.admin = Minio(S3, access_key=ACCESS, secret_key=SECRET, secure=False)
        self.up = Uploads(
            store=self.store,
            limits=ConfiguredPlanLimits(max_file_bytes=1_000_000, max_pages=3),
            inspect_pdf=inspect_pdf_async,
            bucket=bucket,
            upload_ttl=timedelta(minutes=15),
        )

    def uow(self) -> FilesUnitOfWork:
        return FilesUnitOfWork(self.pool)

    def exists(self, key: str) -> bool:
        return any(o.object_name == key for o in self.admin.list_objects(self.bucket, prefix=key))

    async def create(
        self, data: bytes, content_type: str = "application/pdf", **kw: object
    ) -> handlers.UploadTarget:
        return await handlers.create_upload(
            self.uow(),
            self.up,
            workspace_id="ws_a",
            filename="doc.pdf",
            content_type=content_type,
            size_bytes=len(data),
            **kw,  # type: ignore[arg-type]
        )


@pytest.fixture
async def harness(database_url: str, unique_suffix: str) -> AsyncIterator[Harness]:
    pool = await create_pool(database_url)
    await migrate(pool, MESSAGING_MIGRATIONS, MIGRATIONS)
    h = Harness(pool, f"fs-files-test-{unique_suffix}")
    await h.store.ensure_bucket(h.bucket)  # and deliberately no notification rule
    yield h
    for obj in h.admin.list_objects(h.bucket, recursive=True):
        h.admin.remove_object(h.bucket, obj.object_name)
    h.admin.remove_bucket(h.bucket)
    await pool.close()


async def put(target: handlers.UploadTarget, data: bytes, url: str | None = None) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.put(url or target.url, content=data, headers=target.headers)


async def test_a_lost_notification_is_made_good_by_the_reader_who_asks(harness: Harness) -> None:
    data = a_pdf(2)
    target = await harness.create(data)
    f = target.file
    assert (await put(target, data)).status_code == 200
    # Nothing consumes notifications here: without `verify` the file stays pending.
    plain = await handlers.get_file(harness.uow, harness.up, "ws_a", f.id)
    assert plain.status == "pending_upload"
    # An extraction asks with verify: the object is checked now.
    verified = await handlers.get_file(harness.uow, harness.up, "ws_a", f.id, verify=True)
    assert (verified.status, verified.verified_by, verified.page_count) == ("uploaded", "read", 2)
    assert harness.exists(f.object_key) and not harness.exists(f.upload_key)

    # Writing again through the URL, still valid, cannot touch the verified bytes...
    assert (await put(target, b"%PDF-1.7 something else entirely")).status_code == 200
    assert (
        await verification.object_created(harness.uow(), harness.up, bucket=harness.bucket, key=f.upload_key)
        is None
    )
    assert not harness.exists(f.upload_key)
    _, url, _ = await handlers.download_url(harness.uow(), harness.up, "ws_a", f.id)
    # ...and the internal download URL serves exactly what was verified.
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(url)).content == data


async def test_the_sweep_settles_what_no_one_asked_for(harness: Harness) -> None:
    good, too_long = a_pdf(1), a_pdf(4)
    t1, t2 = await harness.create(good), await harness.create(too_long)
    assert (await put(t1, good)).status_code == 200 and (await put(t2, too_long)).status_code == 200
    later = utcnow() + timedelta(minutes=1)
    settled = await verification.sweep_pending(
        harness.uow, harness.up, older_than=timedelta(seconds=30), now=later
    )
    assert settled == 2
    first = await handlers.get_file(harness.uow, harness.up, "ws_a", t1.file.id)
    second = await handlers.get_file(harness.uow, harness.up, "ws_a", t2.file.id)
    assert (first.status, first.verified_by) == ("uploaded", "sweep")
    assert (second.status, second.rejection_reason) == ("rejected", "TOO_MANY_PAGES")
    assert not harness.exists(t2.file.upload_key) and not harness.exists(t2.file.object_key)
    with pytest.raises(Conflict, match="TOO_MANY_PAGES"):
        await handlers.download_url(harness.uow(), harness.up, "ws_a", t2.file.id)


async def test_minio_refuses_expired_urls_and_other_keys(harness: Harness) -> None:
    data = a_pdf()
    # Issued an hour ago with a 15-minute lifetime: the URL expired 45 minutes ago.
    old = await harness.create(data, now=utcnow() - timedelta(hours=1))
    expired = await put(old, data)
    assert expired.status_code == 403 and "expired" in expired.text.lower()
    assert not harness.exists(old.file.upload_key)

    mine = await harness.create(data)
    theirs = await handlers.create_upload(
        harness.uow(),
        harness.up,
        workspace_id="ws_b",
        filename="x.pdf",
        content_type="application/pdf",
        size_bytes=len(data),
    )
    parts = urlsplit(mine.url)
    for key in (theirs.file.upload_key, theirs.file.object_key, f"uploads/ws_a/{mine.file.id}-2"):
        forged = urlunsplit(parts._replace(path=f"/{harness.bucket}/{key}"))
        refused = await put(mine, data, forged)
        assert refused.status_code == 403 and "SignatureDoesNotMatch" in refused.text, key
        assert not harness.exists(key)
    assert (await put(mine, data)).status_code == 200


async def test_inline_upload_and_delete_against_the_store(harness: Harness) -> None:
    data = a_pdf()

    async def chunks() -> AsyncIterator[bytes]:
        yield data

    record, _ = await handlers.upload_inline(
        harness.uow,
        harness.up,
        workspace_id="ws_a",
        filename="a.pdf",
        content_type="application/pdf",
        size_bytes=len(data),
        chunks=chunks(),
    )
    assert (record.status, record.verified_by) == ("uploaded", "inline")
    assert harness.exists(record.object_key)
    await handlers.delete_file(harness.uow(), harness.up, "ws_a", record.id)
    assert not harness.exists(record.object_key) and not harness.exists(record.upload_key)
