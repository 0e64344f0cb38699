"""Reservations, settlement, inbox and outbox against the real Postgres."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import pytest

from fieldstone.common.errors import QuotaExceeded
from fieldstone.messaging import CloudEvent, InboundMessage, Topics
from fieldstone.proto.events.v1 import events_pb2
from fieldstone.usage.domain.model import PlanCatalog
from fieldstone.usage.entrypoints.event_handlers import UsageEventHandlers
from fieldstone.usage.service_layer import handlers
from fieldstone.usage.service_layer.unit_of_work import UsageUnitOfWork

pytestmark = pytest.mark.integration

UowFactory = Callable[[], UsageUnitOfWork]
# A fixed clock keeps the billing period stable, whenever the tests run.
NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


async def _counters(pool: asyncpg.Pool, workspace_id: str) -> tuple[int, int]:
    row = await pool.fetchrow(
        "SELECT used, reserved FROM period_usage WHERE workspace_id = $1 AND period_key = $2",
        workspace_id,
        "2025-03",
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
