"""Templates (versions pinned by extractions) and batch runs on the real Postgres."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from extraction_fakes import VARIABLES, FakeDocuments, FakeEngine, FakeFiles, FakeQuota

from fieldstone.common.errors import Conflict, NotFound, QuotaExceeded, ValidationFailed
from fieldstone.extraction.bootstrap import MIGRATIONS
from fieldstone.extraction.domain.model import EngineOutcome
from fieldstone.extraction.service_layer import extractions, runs, templates
from fieldstone.extraction.service_layer.jobs import JobPolicy, JobRunner
from fieldstone.extraction.service_layer.unit_of_work import ExtractionUnitOfWork
from fieldstone.messaging import MIGRATIONS as MESSAGING_MIGRATIONS
from fieldstone.pg import create_pool, migrate

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, max_size=20)
    await migrate(pool, MESSAGING_MIGRATIONS, MIGRATIONS)
    yield pool
    await pool.close()


def uow(pool: asyncpg.Pool) -> ExtractionUnitOfWork:
    return ExtractionUnitOfWork(pool)


async def test_extractions_pin_the_template_version_and_name_they_used(pool: asyncpg.Pool) -> None:
    t = await templates.create_template(
        uow(pool), workspace_id="ws_1", name="Invoice", description="", variables=VARIABLES
    )
    first = await extractions.create_extraction(
        uow(pool), FakeFiles(), FakeQuota(), workspace_id="ws_1", file_id="f1", template_id=t.id
    )
    changed = [*VARIABLES, {"key": "currency", "type": "string", "context": "ISO code"}]
    t2 = await templates.update_template(uow(pool), "ws_1", t.id, name="Invoice v2", variables=changed)
    assert t2.version == 2
    second = await extractions.create_extraction(
        uow(pool), FakeFiles(), FakeQuota(), workspace_id="ws_1", file_id="f2", template_id=t.id
    )
    assert (first.template_version, first.template_name, first.variables) == (1, "Invoice", VARIABLES)
    assert (second.template_version, second.template_name, second.variables) == (2, "Invoice v2", changed)
    old = await templates.get_template(uow(pool), "ws_1", t.id, version=1)
    assert (old.name, old.variables, old.version) == ("Invoice", VARIABLES, 1)
    unchanged = await templates.update_template(uow(pool), "ws_1", t.id, name="Invoice v2")
    assert unchanged.version == 2  # nothing changed, no new version

    with pytest.raises(ValidationFailed, match="either templateId or variables"):
        await extractions.create_extraction(
            uow(pool), FakeFiles(), FakeQuota(), workspace_id="ws_1", file_id="f3", template_id=t.id,
            variables=VARIABLES,
        )  # fmt: skip
    with pytest.raises(NotFound):
        await templates.get_template(uow(pool), "ws_2", t.id)
    await templates.delete_template(uow(pool), "ws_1", t.id)
    with pytest.raises(NotFound, match=f"template {t.id} not found"):
        await extractions.create_extraction(
            uow(pool), FakeFiles(), FakeQuota(), workspace_id="ws_1", file_id="f3", template_id=t.id
        )
    assert (await extractions.get_extraction(uow(pool), "ws_1", first.id)).template_name == "Invoice"
    assert await templates.list_templates(uow(pool), "ws_1", 10, None) == []


async def test_a_run_completes_once_when_its_last_extraction_ends(pool: asyncpg.Pool) -> None:
    quota = FakeQuota()
    run, records = await runs.create_run(
        uow(pool),
        FakeFiles(),
        quota,
        workspace_id="ws_1",
        file_ids=["f1", "f2", "f3", "f4"],
        variables=VARIABLES,
    )
    assert run.status == "running" and run.total == 4 and len(quota.reserved) == 4
    assert {r.run_id for r in records} == {run.id}
    await extractions.cancel_extraction(uow(pool), "ws_1", records[3].id)

    def worker(name: str, outcome: EngineOutcome | None = None) -> JobRunner:
        return JobRunner(lambda: uow(pool), FakeDocuments(), FakeEngine(outcome), JobPolicy(), worker=name)

    unreadable = EngineOutcome(None, [], None, "UNREADABLE_PDF", "truncated")
    # The last three end at the same moment, in three transactions: the run must still complete.
    results = await asyncio.gather(
        worker("w1").run(records[0].id),
        worker("w2").run(records[1].id),
        worker("w3", unreadable).run(records[2].id),
    )
    assert sorted(results, key=str) == ["completed", "completed", "failed"]
    done = await runs.get_run(uow(pool), "ws_1", run.id)
    assert done.status == "completed" and done.completed_at is not None
    assert (done.counts["completed"], done.counts["failed"], done.counts["canceled"]) == (2, 1, 1)
    completed_events = await pool.fetch("SELECT * FROM outbox WHERE ce_type = 'fieldstone.run.completed.v1'")
    assert len(completed_events) == 1 and completed_events[0]["key"] == run.id


async def test_a_run_is_all_or_nothing(pool: asyncpg.Pool) -> None:
    quota = FakeQuota(limit=2)
    with pytest.raises(QuotaExceeded):
        await runs.create_run(
            uow(pool),
            FakeFiles(),
            quota,
            workspace_id="ws_1",
            file_ids=["f1", "f2", "f3"],
            variables=VARIABLES,
        )
    assert quota.reserved == []  # the two units reserved were given back
    with pytest.raises(NotFound, match="file missing_2 not found"):
        await runs.create_run(
            uow(pool),
            FakeFiles(),
            FakeQuota(),
            workspace_id="ws_1",
            file_ids=["f1", "missing_2"],
            variables=VARIABLES,
        )
    files = FakeFiles()
    files.status["f2"] = "rejected"
    with pytest.raises(Conflict, match="file f2 cannot be extracted"):
        await runs.create_run(
            uow(pool), files, FakeQuota(), workspace_id="ws_1", file_ids=["f1", "f2"], variables=VARIABLES
        )
    with pytest.raises(ValidationFailed, match="the starter plan allows at most 10 per run"):
        await runs.create_run(
            uow(pool), FakeFiles(), FakeQuota(), workspace_id="ws_1", file_ids=[f"f{i}" for i in range(11)],
            variables=VARIABLES,
        )  # fmt: skip
    assert await pool.fetchval("SELECT count(*) FROM extractions") == 0
    assert await pool.fetchval("SELECT count(*) FROM runs") == 0
    with pytest.raises(NotFound):
        await runs.get_run(uow(pool), "ws_1", "run_nope")
