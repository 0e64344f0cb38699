"""The extraction lifecycle on the real Postgres, with fake neighbours (files, usage, engine)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from extraction_fakes import VARIABLES, FakeDocuments, FakeEngine, FakeFiles, FakeQuota

from fieldstone.common.errors import Conflict, ExtractionNotReady, NotFound, QuotaExceeded, ValidationFailed
from fieldstone.common.time import utcnow
from fieldstone.extraction.adapters.repository import ExtractionQuery
from fieldstone.extraction.bootstrap import MIGRATIONS
from fieldstone.extraction.domain.model import EngineOutcome, ExtractionRecord
from fieldstone.extraction.service_layer import extractions
from fieldstone.extraction.service_layer.jobs import JobPolicy, JobRunner
from fieldstone.extraction.service_layer.unit_of_work import ExtractionUnitOfWork
from fieldstone.messaging import MIGRATIONS as MESSAGING_MIGRATIONS
from fieldstone.pg import create_pool, migrate

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url)
    await migrate(pool, MESSAGING_MIGRATIONS, MIGRATIONS)
    yield pool
    await pool.close()


async def _create(
    pool: asyncpg.Pool, files: FakeFiles, quota: FakeQuota, file_id: str = "file_1", **kw: Any
) -> ExtractionRecord:
    return await extractions.create_extraction(
        ExtractionUnitOfWork(pool),
        files,
        quota,
        workspace_id="ws_1",
        file_id=file_id,
        variables=VARIABLES,
        **kw,
    )


def runner(pool: asyncpg.Pool, engine: FakeEngine, worker: str = "w1", **policy: Any) -> JobRunner:
    return JobRunner(
        lambda: ExtractionUnitOfWork(pool), FakeDocuments(), engine, JobPolicy(**policy), worker=worker
    )


async def events(pool: asyncpg.Pool) -> list[str]:
    return [
        r["ce_type"].split(".")[-2] + "@" + r["topic"]
        for r in await pool.fetch("SELECT * FROM outbox ORDER BY seq")
    ]


async def test_every_transition_writes_its_event(pool: asyncpg.Pool) -> None:
    record = await _create(pool, FakeFiles(), FakeQuota())
    assert record.status == "queued"
    assert await events(pool) == [
        "queued@fieldstone.extractions.v1",
        "requested@fieldstone.extraction-jobs.v1",
    ]
    assert await runner(pool, FakeEngine()).run(record.id) == "completed"
    assert (await events(pool))[2:] == [
        "processing@fieldstone.extractions.v1",
        "completed@fieldstone.extractions.v1",
    ]
    done = await extractions.get_result(ExtractionUnitOfWork(pool), "ws_1", record.id)
    assert done.extracted_data == {"total": 5.0} and done.fields == [{"path": "total", "value": 5.0}]
    assert done.attempts == 1 and done.lease_owner is None and done.completed_at is not None


async def test_an_unreadable_document_fails_with_the_engines_error(pool: asyncpg.Pool) -> None:
    record = await _create(pool, FakeFiles(), FakeQuota())
    engine = FakeEngine(EngineOutcome(None, [], None, "ENCRYPTED_PDF", "the PDF needs a password"))
    assert await runner(pool, engine).run(record.id) == "failed"
    failed = await extractions.get_result(
        ExtractionUnitOfWork(pool), "ws_1", record.id
    )  # a failed job's result
    assert (failed.error_code, failed.error, failed.extracted_data) == (
        "ENCRYPTED_PDF",
        "the PDF needs a password",
        None,
    )
    assert (await events(pool))[-1] == "failed@fieldstone.extractions.v1"


async def test_the_plans_page_limit_is_passed_to_the_engine_and_named_when_it_refuses(
    pool: asyncpg.Pool,
) -> None:
    record = await _create(pool, FakeFiles(), FakeQuota(max_pages=2), pages="1-3")
    engine = FakeEngine(
        EngineOutcome(None, [], 3, "TOO_MANY_PAGES", "3 pages selected, at most 2 are processed")
    )
    assert await runner(pool, engine, max_pages=500).run(record.id) == "failed"
    assert engine.calls[0]["max_pages"] == 2 and engine.calls[0]["pages"] == "1-3"
    failed = await extractions.get_extraction(ExtractionUnitOfWork(pool), "ws_1", record.id)
    assert failed.error_code == "TOO_MANY_PAGES" and "plan" in (failed.error or "")


async def test_result_before_the_end_is_not_ready_and_a_canceled_one_has_none(pool: asyncpg.Pool) -> None:
    record = await _create(pool, FakeFiles(), FakeQuota())
    with pytest.raises(ExtractionNotReady, match="is queued"):
        await extractions.get_result(ExtractionUnitOfWork(pool), "ws_1", record.id)
    await extractions.cancel_extraction(ExtractionUnitOfWork(pool), "ws_1", record.id)
    with pytest.raises(Conflict, match="was canceled"):
        await extractions.get_result(ExtractionUnitOfWork(pool), "ws_1", record.id)
    with pytest.raises(Conflict, match="can no longer be canceled"):
        await extractions.cancel_extraction(ExtractionUnitOfWork(pool), "ws_1", record.id)
    assert await runner(pool, FakeEngine()).run(record.id) is None  # its job, delivered late, does nothing
    assert (await events(pool)).count("canceled@fieldstone.extractions.v1") == 1


async def test_waiting_for_the_upload(pool: asyncpg.Pool) -> None:
    record = await _create(pool, FakeFiles(status="pending_upload"), FakeQuota())
    assert record.waiting_for_file
    assert "requested@fieldstone.extraction-jobs.v1" not in await events(pool)
    assert await runner(pool, FakeEngine()).run(record.id) is None  # nothing to do yet
    assert await extractions.file_status_changed(ExtractionUnitOfWork(pool), "file_1", "uploaded", None) == 1
    assert "requested@fieldstone.extraction-jobs.v1" in await events(pool)
    assert await extractions.file_status_changed(ExtractionUnitOfWork(pool), "file_1", "uploaded", None) == 0
    with pytest.raises(NotFound):
        await extractions.get_extraction(ExtractionUnitOfWork(pool), "ws_2", record.id)


async def test_rejected_upload_fails_waiting_extractions(pool: asyncpg.Pool) -> None:
    record = await _create(pool, FakeFiles(status="pending_upload"), FakeQuota())
    await extractions.file_status_changed(ExtractionUnitOfWork(pool), "file_1", "rejected", "TYPE_MISMATCH")
    failed = await extractions.get_extraction(ExtractionUnitOfWork(pool), "ws_1", record.id)
    assert failed.status == "failed" and failed.error_code == "FILE_REJECTED"


async def test_refusals_leave_nothing_behind(pool: asyncpg.Pool) -> None:
    quota = FakeQuota(limit=0)
    with pytest.raises(QuotaExceeded):
        await _create(pool, FakeFiles(), quota)
    with pytest.raises(Conflict, match="rejected"):
        await _create(pool, FakeFiles(status="rejected"), FakeQuota())
    with pytest.raises(ValidationFailed, match=r"variables\[0\].type"):
        await extractions.create_extraction(
            ExtractionUnitOfWork(pool), FakeFiles(), FakeQuota(), workspace_id="ws_1", file_id="f",
            variables=[{"key": "a", "type": "text"}],
        )  # fmt: skip
    with pytest.raises(ValidationFailed, match="metadata"):
        await _create(pool, FakeFiles(), FakeQuota(), metadata={f"k{i}": i for i in range(51)})
    assert await pool.fetchval("SELECT count(*) FROM extractions") == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0 and quota.reserved == []


async def test_lists_filter_by_status_run_template_and_time(pool: asyncpg.Pool) -> None:
    first = await _create(pool, FakeFiles(), FakeQuota())
    second = await _create(pool, FakeFiles(), FakeQuota(), file_id="file_2")
    await runner(pool, FakeEngine()).run(second.id)

    async def ids(**query: Any) -> list[str]:
        found = await extractions.list_extractions(
            ExtractionUnitOfWork(pool), "ws_1", 10, None, ExtractionQuery(**query)
        )
        return [r.id for r in found]

    assert await ids() == [second.id, first.id]
    assert await ids(status="completed") == [second.id]
    assert await ids(status="queued") == [first.id]
    assert await ids(run_id="run_x") == []
    assert await ids(created_after=utcnow() + timedelta(minutes=1)) == []
    assert await ids(created_before=utcnow() + timedelta(minutes=1)) == [second.id, first.id]
    with pytest.raises(ValidationFailed, match="status"):
        await ids(status="done")
