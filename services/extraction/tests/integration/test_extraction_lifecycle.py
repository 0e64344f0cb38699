"""The extraction lifecycle on the real Postgres, with fake neighbours (files, usage, engine)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from fieldstone.common.errors import Conflict, NotFound, QuotaExceeded
from fieldstone.extraction.bootstrap import MIGRATIONS
from fieldstone.extraction.domain.model import EngineOutcome, ExtractionRecord, FileInfo
from fieldstone.extraction.service_layer import handlers
from fieldstone.extraction.service_layer.unit_of_work import ExtractionUnitOfWork
from fieldstone.messaging import MIGRATIONS as MESSAGING_MIGRATIONS
from fieldstone.pg import create_pool, migrate

pytestmark = pytest.mark.integration
VARIABLES = [{"key": "total", "type": "number", "context": "Total"}]


class FakeFiles:
    def __init__(self, status: str = "uploaded") -> None:
        self.status = status

    async def get(self, workspace_id: str, file_id: str) -> FileInfo:
        if workspace_id != "ws_1":
            raise NotFound(f"file {file_id} not found")
        return FileInfo(file_id, "a.pdf", self.status, "b", f"ws_1/{file_id}", "TYPE_MISMATCH")


class FakeQuota:
    def __init__(self, limit: int = 100) -> None:
        self.reserved: list[str] = []
        self.limit = limit

    async def reserve(self, workspace_id: str, reservation_id: str) -> None:
        if len(self.reserved) >= self.limit:
            raise QuotaExceeded("limit reached")
        self.reserved.append(reservation_id)

    async def release(self, workspace_id: str, reservation_id: str) -> None:
        self.reserved.remove(reservation_id)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url)
    await migrate(pool, MESSAGING_MIGRATIONS, MIGRATIONS)
    yield pool
    await pool.close()


def _no_check(_: list[dict[str, Any]]) -> None:
    return None


async def _create(pool: asyncpg.Pool, files: FakeFiles, quota: FakeQuota) -> ExtractionRecord:
    return await handlers.create_extraction(
        ExtractionUnitOfWork(pool),
        files,
        quota,
        workspace_id="ws_1",
        file_id="file_1",
        variables=VARIABLES,
        validate_variables=_no_check,
    )


async def _events(pool: asyncpg.Pool) -> list[str]:
    return [
        r["ce_type"].split(".")[-2] + "@" + r["topic"]
        for r in await pool.fetch("SELECT * FROM outbox ORDER BY seq")
    ]


async def test_job_completes_exactly_once_even_when_redelivered(pool: asyncpg.Pool) -> None:
    record = await _create(pool, FakeFiles(), FakeQuota())
    calls = 0

    async def engine(r: ExtractionRecord) -> EngineOutcome:
        nonlocal calls
        calls += 1
        return EngineOutcome({"total": 5.0}, [{"path": "total", "value": 5.0}], 1)

    def uow() -> ExtractionUnitOfWork:
        return ExtractionUnitOfWork(pool)

    # Two deliveries of the same job at once (a redelivery racing the first worker).
    results = await asyncio.gather(
        handlers.run_job(uow, record.id, engine, 3), handlers.run_job(uow, record.id, engine, 3)
    )
    assert sorted(results, key=str) == ["completed", None] or results.count("completed") == 1
    assert await handlers.run_job(uow, record.id, engine, 3) is None  # a late redelivery does nothing
    events = await _events(pool)
    assert events.count("completed@fieldstone.extractions.v1") == 1
    assert events.count("processing@fieldstone.extractions.v1") == 1
    done = await handlers.get_extraction(uow(), "ws_1", record.id)
    assert done.status == "completed" and done.extracted_data == {"total": 5.0}


async def test_a_job_that_keeps_killing_its_worker_fails(pool: asyncpg.Pool) -> None:
    record = await _create(pool, FakeFiles(), FakeQuota())

    def uow() -> ExtractionUnitOfWork:
        return ExtractionUnitOfWork(pool)

    async def dies(r: ExtractionRecord) -> EngineOutcome:
        raise RuntimeError("worker died")  # what a crash looks like to the next delivery

    for _ in range(2):
        with pytest.raises(RuntimeError):
            await handlers.run_job(uow, record.id, dies, 2)
    assert await handlers.run_job(uow, record.id, dies, 2) == "failed"
    failed = await handlers.get_extraction(uow(), "ws_1", record.id)
    assert failed.error_code == "EXTRACTION_CRASHED"


async def test_waiting_for_the_upload_then_cancel_rules(pool: asyncpg.Pool) -> None:
    files = FakeFiles(status="pending_upload")
    record = await _create(pool, files, FakeQuota())
    assert record.waiting_for_file
    assert "requested@fieldstone.extraction-jobs.v1" not in await _events(pool)
    assert await handlers.file_status_changed(ExtractionUnitOfWork(pool), "file_1", "uploaded", None) == 1
    assert "requested@fieldstone.extraction-jobs.v1" in await _events(pool)
    assert await handlers.file_status_changed(ExtractionUnitOfWork(pool), "file_1", "uploaded", None) == 0

    canceled = await handlers.cancel_extraction(ExtractionUnitOfWork(pool), "ws_1", record.id)
    assert canceled.status == "canceled"
    with pytest.raises(Conflict):
        await handlers.cancel_extraction(ExtractionUnitOfWork(pool), "ws_1", record.id)
    with pytest.raises(NotFound):
        await handlers.get_extraction(ExtractionUnitOfWork(pool), "ws_2", record.id)


async def test_rejected_upload_fails_waiting_extractions(pool: asyncpg.Pool) -> None:
    record = await _create(pool, FakeFiles(status="pending_upload"), FakeQuota())
    await handlers.file_status_changed(ExtractionUnitOfWork(pool), "file_1", "rejected", "TYPE_MISMATCH")
    failed = await handlers.get_extraction(ExtractionUnitOfWork(pool), "ws_1", record.id)
    assert failed.status == "failed" and failed.error_code == "FILE_REJECTED"


async def test_quota_refusal_leaves_nothing_behind(pool: asyncpg.Pool) -> None:
    with pytest.raises(QuotaExceeded):
        await _create(pool, FakeFiles(), FakeQuota(limit=0))
    assert await pool.fetchval("SELECT count(*) FROM extractions") == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    with pytest.raises(Conflict):
        await _create(pool, FakeFiles(status="rejected"), FakeQuota())
