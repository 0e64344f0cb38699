"""Reservations, settlement, inbox and outbox against the real Postgres."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import pytest
from usage_catalog import small_catalog

from fieldstone.common.errors import QuotaExceeded
from fieldstone.messaging import CloudEvent, InboundMessage, Topics
from fieldstone.proto.events.v1 import events_pb2
from fieldstone.usage.domain.plans import PlanCatalog
from fieldstone.usage.entrypoints.event_handlers import UsageEventHandlers
from fieldstone.usage.service_layer import handlers
from fieldstone.usage.service_layer import plans as plan_handlers
from fieldstone.usage.service_layer.unit_of_work import UsageUnitOfWork

pytestmark = pytest.mark.integration

UowFactory = Callable[[], UsageUnitOfWork]
# A fixed clock keeps the billing period stable, whenever the tests run.
NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
APRIL = datetime(2025, 4, 1, 0, 0, tzinfo=UTC)


@pytest.fixture(name="plans")
def _plans() -> PlanCatalog:
    """The free plan allows 5 extractions, so tests reach the limit quickly."""
    return small_catalog(5)


async def _counters(pool: asyncpg.Pool, workspace_id: str, period: str = "2025-03") -> tuple[int, int]:
    row = await pool.fetchrow(
        "SELECT used, reserved FROM period_usage WHERE workspace_id = $1 AND period_key = $2",
        workspace_id,
        period,
    )
    return (row["used"], row["reserved"]) if row else (0, 0)


def _extraction_event(ce_type: str, extraction_id: str, ce_id: str) -> InboundMessage:
    payload = events_pb2.ExtractionStatusChanged(extraction_id=extraction_id, workspace_id="ws_1")
    event = CloudEvent(
        id=ce_id,
        source="/fieldstone/extraction",
        type=ce_type,
        subject=extraction_id,
        time=datetime.now(UTC),
        data=payload.SerializeToString(),
    )
    return InboundMessage(
        topic=Topics.EXTRACTIONS,
        partition=0,
        offset=0,
        key=extraction_id.encode(),
        value=event.data,
        event=event,
    )


async def test_reserve_up_to_the_limit_then_quota_exceeded(
    uow: UowFactory, plans: PlanCatalog, pool: asyncpg.Pool
) -> None:
    for i in range(5):
        summary = await handlers.reserve(
            uow(), plans, workspace_id="ws_1", reservation_id=f"ext_{i}", now=NOW
        )
        assert (summary.counted, summary.limit) == (i + 1, 5)
    with pytest.raises(QuotaExceeded):
        await handlers.reserve(uow(), plans, workspace_id="ws_1", reservation_id="ext_5", now=NOW)
    assert await _counters(pool, "ws_1") == (0, 5)
    assert await pool.fetchval("SELECT count(*) FROM reservations") == 5


async def test_reserve_is_idempotent(uow: UowFactory, plans: PlanCatalog, pool: asyncpg.Pool) -> None:
    first = await handlers.reserve(uow(), plans, workspace_id="ws_1", reservation_id="ext_1", now=NOW)
    again = await handlers.reserve(uow(), plans, workspace_id="ws_1", reservation_id="ext_1", now=NOW)
    assert first == again
    assert await _counters(pool, "ws_1") == (0, 1)


async def test_concurrent_reserves_never_pass_the_limit(
    uow: UowFactory, plans: PlanCatalog, pool: asyncpg.Pool
) -> None:
    results = await asyncio.gather(
        *(
            handlers.reserve(uow(), plans, workspace_id="ws_1", reservation_id=f"ext_{i}", now=NOW)
            for i in range(20)
        ),
        return_exceptions=True,
    )
    admitted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    assert (len(admitted), len(refused)) == (5, 15)
    assert await _counters(pool, "ws_1") == (0, 5)


async def test_completed_event_consumes_once_and_writes_the_outbox(
    uow: UowFactory, plans: PlanCatalog, pool: asyncpg.Pool
) -> None:
    await handlers.reserve(uow(), plans, workspace_id="ws_1", reservation_id="ext_1", now=NOW)
    consumer = UsageEventHandlers(uow, plans)
    completed = _extraction_event("fieldstone.extraction.completed.v1", "ext_1", "msg_completed")

    await consumer.on_extraction_event(completed)
    await consumer.on_extraction_event(completed)  # redelivered: same ce id

    assert await _counters(pool, "ws_1") == (1, 0)
    assert await pool.fetchval("SELECT status FROM reservations WHERE reservation_id = 'ext_1'") == "consumed"
    assert await pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'usage.extractions'") == 1
    [row] = await pool.fetch("SELECT * FROM outbox")
    assert (row["topic"], row["key"], row["ce_type"], row["ce_source"]) == (
        Topics.USAGE,
        "ws_1",
        "fieldstone.usage.recorded.v1",
        "/fieldstone/usage",
    )
    recorded = events_pb2.UsageRecorded.FromString(row["payload"])
    assert (
        recorded.workspace_id,
        recorded.extraction_id,
        recorded.outcome,
        recorded.usage,
        recorded.limit,
    ) == (
        "ws_1",
        "ext_1",
        "consumed",
        1,
        5,
    )
    summary = await handlers.get_usage(uow(), plans, "ws_1", now=NOW)
    assert (summary.plan, summary.used, summary.reserved, summary.limit) == ("free", 1, 0, 5)


async def test_failed_event_releases_and_makes_room(
    uow: UowFactory, plans: PlanCatalog, pool: asyncpg.Pool
) -> None:
    for i in range(5):
        await handlers.reserve(uow(), plans, workspace_id="ws_1", reservation_id=f"ext_{i}", now=NOW)
    consumer = UsageEventHandlers(uow, plans)
    await consumer.on_extraction_event(
        _extraction_event("fieldstone.extraction.failed.v1", "ext_0", "msg_failed")
    )
    # A later cancel of the same extraction must not release a second unit.
    await consumer.on_extraction_event(
        _extraction_event("fieldstone.extraction.canceled.v1", "ext_0", "msg_cancel")
    )

    assert await _counters(pool, "ws_1") == (0, 4)
    assert await pool.fetchval("SELECT status FROM reservations WHERE reservation_id = 'ext_0'") == "released"
    recorded = events_pb2.UsageRecorded.FromString(await pool.fetchval("SELECT payload FROM outbox"))
    assert recorded.outcome == "released"
    assert (
        await handlers.reserve(uow(), plans, workspace_id="ws_1", reservation_id="ext_5", now=NOW)
    ).counted == 5


async def test_workspace_created_event_sets_the_plan(uow: UowFactory, plans: PlanCatalog) -> None:
    created = events_pb2.WorkspaceCreated(workspace_id="ws_1", name="Acme", plan="starter")
    event = CloudEvent(
        id="msg_ws",
        source="/fieldstone/auth",
        type="fieldstone.workspace.created.v1",
        subject="ws_1",
        time=datetime.now(UTC),
        data=created.SerializeToString(),
    )
    message = InboundMessage(
        topic=Topics.AUTH, partition=0, offset=0, key=b"ws_1", value=event.data, event=event
    )
    await UsageEventHandlers(uow, plans).on_auth_event(message)
    summary = await handlers.get_usage(uow(), plans, "ws_1", now=NOW)
    assert (summary.plan, summary.limit) == ("starter", 500)


async def test_fifty_concurrent_reserves_against_ten_remaining_admit_exactly_ten(
    uow: UowFactory, pool: asyncpg.Pool
) -> None:
    catalog = small_catalog(50)
    for i in range(40):
        await handlers.reserve(uow(), catalog, workspace_id="ws_1", reservation_id=f"ext_held_{i}", now=NOW)
    results = await asyncio.gather(
        *(
            handlers.reserve(uow(), catalog, workspace_id="ws_1", reservation_id=f"ext_{i}", now=NOW)
            for i in range(50)
        ),
        return_exceptions=True,
    )
    admitted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    assert (len(admitted), len(refused)) == (10, 40)
    assert "allows 50 extractions" in refused[0].message
    assert await _counters(pool, "ws_1") == (0, 50)
    assert await pool.fetchval("SELECT count(*) FROM reservations") == 50


async def _outbox_types(pool: asyncpg.Pool) -> list[str]:
    return [r["ce_type"] for r in await pool.fetch("SELECT ce_type FROM outbox ORDER BY seq")]


async def test_thresholds_are_announced_once_in_the_consume_transaction(
    uow: UowFactory, plans: PlanCatalog, pool: asyncpg.Pool
) -> None:
    consumer = UsageEventHandlers(uow, plans, clock=lambda: NOW)
    for i in range(5):
        await handlers.reserve(uow(), plans, workspace_id="ws_1", reservation_id=f"ext_{i}", now=NOW)
    for i in range(5):
        await consumer.on_extraction_event(
            _extraction_event("fieldstone.extraction.completed.v1", f"ext_{i}", f"msg_{i}")
        )
        if i == 3:  # 4 of 5 = 80 %
            assert (await _outbox_types(pool))[-1] == "fieldstone.usage.threshold_reached.v1"
    for i in range(5):  # every event delivered again
        await consumer.on_extraction_event(
            _extraction_event("fieldstone.extraction.completed.v1", f"ext_{i}", f"msg_{i}")
        )
    recorded, threshold = "fieldstone.usage.recorded.v1", "fieldstone.usage.threshold_reached.v1"
    assert await _outbox_types(pool) == [recorded] * 4 + [threshold, recorded, threshold]
    rows = await pool.fetch("SELECT payload FROM outbox WHERE ce_type = $1 ORDER BY seq", threshold)
    reached = [events_pb2.UsageThresholdReached.FromString(r["payload"]) for r in rows]
    assert [(e.threshold_percent, e.usage, e.limit, e.period_key) for e in reached] == [
        (80, 4, 5, "2025-03"),
        (100, 5, 5, "2025-03"),
    ]
    assert await _counters(pool, "ws_1") == (5, 0)


async def test_plan_change_applies_to_the_next_reserve(
    uow: UowFactory, plans: PlanCatalog, pool: asyncpg.Pool
) -> None:
    for i in range(5):
        await handlers.reserve(uow(), plans, workspace_id="ws_1", reservation_id=f"ext_{i}", now=NOW)
    with pytest.raises(QuotaExceeded):
        await handlers.reserve(uow(), plans, workspace_id="ws_1", reservation_id="ext_5", now=NOW)
    change = await plan_handlers.change_plan(uow(), plans, workspace_id="ws_1", plan="core", now=NOW)
    assert (change.previous_plan, change.plan) == ("free", "core")
    summary = await handlers.reserve(uow(), plans, workspace_id="ws_1", reservation_id="ext_5", now=NOW)
    assert (summary.plan, summary.limit, summary.counted) == ("core", 2000, 6)
    assert await plan_handlers.get_plan_limits(uow(), plans, "ws_1") == ("core", plans.limits["core"])
    [row] = await pool.fetch("SELECT * FROM outbox")
    assert (row["topic"], row["key"], row["ce_type"]) == (
        Topics.USAGE,
        "ws_1",
        "fieldstone.workspace_plan.changed.v1",
    )
    changed = events_pb2.WorkspacePlanChanged.FromString(row["payload"])
    assert (changed.workspace_id, changed.plan, changed.previous_plan) == ("ws_1", "core", "free")


async def test_workspace_created_never_overrides_a_plan_set_before_it_arrived(
    uow: UowFactory, plans: PlanCatalog, pool: asyncpg.Pool
) -> None:
    await plan_handlers.change_plan(uow(), plans, workspace_id="ws_1", plan="core", now=NOW)
    assert await plan_handlers.assign_initial_plan(uow(), event_id="msg_ws", workspace_id="ws_1", plan="pro")
    assert await pool.fetchval("SELECT plan FROM workspace_plans WHERE workspace_id = 'ws_1'") == "core"


async def test_a_new_period_starts_from_zero(uow: UowFactory, plans: PlanCatalog, pool: asyncpg.Pool) -> None:
    for i in range(5):
        await handlers.reserve(uow(), plans, workspace_id="ws_1", reservation_id=f"ext_{i}", now=NOW)
    with pytest.raises(QuotaExceeded):
        await handlers.reserve(uow(), plans, workspace_id="ws_1", reservation_id="ext_5", now=NOW)
    april = await handlers.reserve(uow(), plans, workspace_id="ws_1", reservation_id="ext_5", now=APRIL)
    assert (april.period_key, april.counted, april.remaining) == ("2025-04", 1, 4)
    assert await _counters(pool, "ws_1", "2025-03") == (0, 5)
    assert await _counters(pool, "ws_1", "2025-04") == (0, 1)
