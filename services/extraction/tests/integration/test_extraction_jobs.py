"""Workers on the real Postgres: duplicate deliveries, dead workers, crashing engines, cancels and
stopping processes each end in exactly one outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from extraction_fakes import VARIABLES, FakeDocuments, FakeEngine, FakeFiles, FakeQuota

from fieldstone.extraction.bootstrap import MIGRATIONS
from fieldstone.extraction.domain.model import EngineCrashed, EngineOutcome
from fieldstone.extraction.service_layer import extractions
from fieldstone.extraction.service_layer.jobs import JobInterrupted, JobPolicy, JobRunner
from fieldstone.extraction.service_layer.unit_of_work import ExtractionUnitOfWork
from fieldstone.messaging import MIGRATIONS as MESSAGING_MIGRATIONS
from fieldstone.pg import create_pool, migrate

pytestmark = pytest.mark.integration
LEASE = 1.5  # seconds: checkpoints every 0.5 s


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url)
    await migrate(pool, MESSAGING_MIGRATIONS, MIGRATIONS)
    yield pool
    await pool.close()


async def create(pool: asyncpg.Pool) -> str:
    record = await extractions.create_extraction(
        ExtractionUnitOfWork(pool),
        FakeFiles(),
        FakeQuota(),
        workspace_id="ws_1",
        file_id="file_1",
        variables=VARIABLES,
    )
    return record.id


def runner(
    pool: asyncpg.Pool, engine: Any, worker: str, stop: asyncio.Event | None = None, attempts: int = 3
) -> JobRunner:
    policy = JobPolicy(max_attempts=attempts, lease_seconds=LEASE)
    return JobRunner(
        lambda: ExtractionUnitOfWork(pool), FakeDocuments(), engine, policy, worker=worker, stop=stop
    )


async def row(pool: asyncpg.Pool, extraction_id: str) -> asyncpg.Record:
    found = await pool.fetchrow("SELECT * FROM extractions WHERE id = $1", extraction_id)
    assert found is not None
    return found


async def status_events(pool: asyncpg.Pool) -> list[str]:
    rows = await pool.fetch(
        "SELECT ce_type FROM outbox WHERE topic = 'fieldstone.extractions.v1' ORDER BY seq"
    )
    return [r["ce_type"].split(".")[2] for r in rows]


async def test_a_job_delivered_twice_at_once_runs_once(pool: asyncpg.Pool) -> None:
    extraction_id = await create(pool)
    engine = FakeEngine(hold=True)
    first = asyncio.create_task(runner(pool, engine, "w1").run(extraction_id))
    await engine.started.wait()
    # The same job again on another worker (a rebalance moved the partition): it must wait.
    second = asyncio.create_task(runner(pool, engine, "w2").run(extraction_id))
    await asyncio.sleep(LEASE * 1.5)  # past the first lease: only renewals keep it alive
    assert not second.done()
    engine.release.set()
    assert await asyncio.wait_for(asyncio.gather(first, second), 10) == ["completed", None]
    assert len(engine.calls) == 1
    assert await runner(pool, engine, "w3").run(extraction_id) is None  # and a late redelivery does nothing
    assert await status_events(pool) == ["queued", "processing", "completed"]
    assert (await row(pool, extraction_id))["attempts"] == 1


async def test_a_dead_workers_job_is_taken_over_when_its_lease_runs_out(pool: asyncpg.Pool) -> None:
    extraction_id = await create(pool)
    engine = FakeEngine(hold=True)
    dead = asyncio.create_task(runner(pool, engine, "w1").run(extraction_id))
    await engine.started.wait()
    dead.cancel()  # like SIGKILL for the database: no release, the lease just stops being renewed
    with pytest.raises(asyncio.CancelledError):
        await dead
    assert (await row(pool, extraction_id))["lease_owner"] == "w1"
    engine.release.set()
    started = asyncio.get_running_loop().time()
    assert await runner(pool, engine, "w2").run(extraction_id) == "completed"
    assert asyncio.get_running_loop().time() - started < LEASE + 1
    done = await row(pool, extraction_id)
    assert (done["attempts"], done["lease_owner"]) == (2, None)
    assert await status_events(pool) == ["queued", "processing", "completed"]


class CrashingEngine:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, *args: Any, **kwargs: Any) -> EngineOutcome:
        self.calls += 1
        raise EngineCrashed("the engine process died (killed by SIGSEGV)")


async def test_an_engine_that_keeps_crashing_fails_the_job_after_the_attempt_limit(
    pool: asyncpg.Pool,
) -> None:
    extraction_id = await create(pool)
    engine = CrashingEngine()
    assert await runner(pool, engine, "w1", attempts=2).run(extraction_id) == "failed"
    assert engine.calls == 2
    failed = await row(pool, extraction_id)
    assert (failed["error_code"], failed["attempts"]) == ("EXTRACTION_CRASHED", 2)
    assert await status_events(pool) == ["queued", "processing", "failed"]


async def test_canceling_a_running_job_stops_the_engine_at_the_next_checkpoint(pool: asyncpg.Pool) -> None:
    extraction_id = await create(pool)
    engine = FakeEngine(hold=True)
    job = asyncio.create_task(runner(pool, engine, "w1").run(extraction_id))
    await engine.started.wait()
    canceled = await extractions.cancel_extraction(ExtractionUnitOfWork(pool), "ws_1", extraction_id)
    assert canceled.status == "canceled"
    assert await asyncio.wait_for(job, LEASE) is None  # within one checkpoint
    assert engine.cancelled
    assert await status_events(pool) == ["queued", "processing", "canceled"]


async def test_a_stopping_worker_gives_the_job_back_uncounted(pool: asyncpg.Pool) -> None:
    extraction_id = await create(pool)
    engine, stop = FakeEngine(hold=True), asyncio.Event()
    job = asyncio.create_task(runner(pool, engine, "w1", stop=stop).run(extraction_id))
    await engine.started.wait()
    stop.set()
    with pytest.raises(JobInterrupted):
        await asyncio.wait_for(job, 5)
    assert engine.cancelled
    given_back = await row(pool, extraction_id)
    assert (given_back["status"], given_back["attempts"], given_back["lease_owner"]) == (
        "processing",
        0,
        None,
    )
    engine.release.set()
    assert await runner(pool, engine, "w2").run(extraction_id) == "completed"  # no wait for a lease
