"""Service layer and Kafka entry points against fakes of the repository and the unit of work."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from google.protobuf.message import Message
from usage_fakes import FakeState, FakeUnitOfWork

from fieldstone.common.errors import Conflict, QuotaExceeded, ValidationFailed
from fieldstone.messaging import CloudEvent, InboundMessage, Topics
from fieldstone.proto.events.v1 import events_pb2
from fieldstone.usage.domain.model import Outcome, PeriodUsage, ReservationStatus
from fieldstone.usage.domain.plans import DEFAULT_PLAN_LIMITS, PlanCatalog, PlanLimits
from fieldstone.usage.entrypoints.event_handlers import UsageEventHandlers
from fieldstone.usage.service_layer import handlers

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
LIMITS = {
    **DEFAULT_PLAN_LIMITS,
    "free": PlanLimits(
        extractions_per_period=3, max_file_bytes=1, max_pages=1, requests_per_minute=1, batch_size=1
    ),
}
PLANS = PlanCatalog(LIMITS, default_plan="free")


@pytest.fixture
def state() -> FakeState:
    return FakeState()


@pytest.fixture
def uow(state: FakeState) -> FakeUnitOfWork:
    return FakeUnitOfWork(state)


async def _reserve(uow: FakeUnitOfWork, reservation_id: str, workspace_id: str = "ws_1") -> Any:
    return await handlers.reserve(
        uow, PLANS, workspace_id=workspace_id, reservation_id=reservation_id, now=NOW
    )


async def test_reserve_up_to_the_limit_then_quota_exceeded(uow: FakeUnitOfWork, state: FakeState) -> None:
    answers = [await _reserve(uow, f"ext_{i}") for i in range(3)]
    assert [(a.period_key, a.counted, a.limit) for a in answers] == [("2025-03", n, 3) for n in (1, 2, 3)]
    with pytest.raises(QuotaExceeded):
        await _reserve(uow, "ext_4")
    assert state.periods[("ws_1", "2025-03")] == PeriodUsage("ws_1", "2025-03", used=0, reserved=3)
    assert "ext_4" not in state.reservations


async def test_reserve_is_idempotent_per_reservation_id(uow: FakeUnitOfWork, state: FakeState) -> None:
    first = await _reserve(uow, "ext_1")
    again = await _reserve(uow, "ext_1")
    assert first == again
    assert state.periods[("ws_1", "2025-03")].reserved == 1


async def test_repeat_of_an_admitted_reservation_succeeds_even_at_the_limit(uow: FakeUnitOfWork) -> None:
    for i in range(3):
        await _reserve(uow, f"ext_{i}")
    assert (await _reserve(uow, "ext_2")).counted == 3


async def test_reservation_id_of_another_workspace_conflicts(uow: FakeUnitOfWork) -> None:
    await _reserve(uow, "ext_1", "ws_1")
    with pytest.raises(Conflict):
        await _reserve(uow, "ext_1", "ws_2")


async def test_reserve_needs_ids(uow: FakeUnitOfWork) -> None:
    with pytest.raises(ValidationFailed):
        await _reserve(uow, "", "ws_1")


async def test_workspace_plan_sets_the_limit(uow: FakeUnitOfWork, state: FakeState) -> None:
    state.plans["ws_1"] = "starter"
    assert (await _reserve(uow, "ext_1")).limit == 500
    summary = await handlers.get_usage(uow, PLANS, "ws_1", now=NOW)
    assert (summary.plan, summary.used, summary.reserved, summary.limit) == ("starter", 0, 1, 500)


async def test_get_usage_of_an_unknown_workspace_uses_the_default_plan(uow: FakeUnitOfWork) -> None:
    summary = await handlers.get_usage(uow, PLANS, "ws_new", now=NOW)
    assert (summary.plan, summary.period_key, summary.used, summary.reserved, summary.limit) == (
        "free",
        "2025-03",
        0,
        0,
        3,
    )


async def test_completed_consumes_once_and_publishes(uow: FakeUnitOfWork, state: FakeState) -> None:
    await _reserve(uow, "ext_1")
    usage = await handlers.settle_reservation(
        uow, PLANS, event_id="msg_a", reservation_id="ext_1", outcome=Outcome.CONSUMED, now=NOW
    )
    assert usage == PeriodUsage("ws_1", "2025-03", used=1, reserved=0)
    assert state.reservations["ext_1"].status is ReservationStatus.CONSUMED
    [event] = state.outbox
    assert (event["topic"], event["key"], event["ce_type"], event["source"]) == (
        Topics.USAGE,
        "ws_1",
        "fieldstone.usage.recorded.v1",
        "/fieldstone/usage",
    )
    message = event["message"]
    assert isinstance(message, events_pb2.UsageRecorded)
    assert (message.extraction_id, message.outcome, message.usage, message.limit, message.period_key) == (
        "ext_1",
        "consumed",
        1,
        3,
        "2025-03",
    )
    redelivered = await handlers.settle_reservation(
        uow, PLANS, event_id="msg_a", reservation_id="ext_1", outcome=Outcome.CONSUMED, now=NOW
    )
    assert redelivered is None
    assert state.periods[("ws_1", "2025-03")] == PeriodUsage("ws_1", "2025-03", used=1, reserved=0)
    assert len(state.outbox) == 1


async def test_release_frees_the_unit(uow: FakeUnitOfWork, state: FakeState) -> None:
    await _reserve(uow, "ext_1")
    await handlers.settle_reservation(
        uow, PLANS, event_id="msg_a", reservation_id="ext_1", outcome=Outcome.RELEASED, now=NOW
    )
    assert state.periods[("ws_1", "2025-03")] == PeriodUsage("ws_1", "2025-03", used=0, reserved=0)
    assert state.reservations["ext_1"].status is ReservationStatus.RELEASED
    assert state.outbox[0]["message"].outcome == "released"


async def test_a_settled_reservation_does_not_move_again(uow: FakeUnitOfWork, state: FakeState) -> None:
    await _reserve(uow, "ext_1")
    await handlers.settle_reservation(
        uow, PLANS, event_id="msg_a", reservation_id="ext_1", outcome=Outcome.CONSUMED
    )
    # A different event (e.g. a late cancel) for the same extraction is claimed but changes nothing.
    late = await handlers.settle_reservation(
        uow, PLANS, event_id="msg_b", reservation_id="ext_1", outcome=Outcome.RELEASED
    )
    assert late is None
    assert state.reservations["ext_1"].status is ReservationStatus.CONSUMED
    assert ("usage.extractions", "msg_b") in state.inbox
    assert len(state.outbox) == 1


async def test_unknown_reservation_is_a_no_op(uow: FakeUnitOfWork, state: FakeState) -> None:
    result = await handlers.settle_reservation(
        uow, PLANS, event_id="msg_a", reservation_id="ext_x", outcome=Outcome.CONSUMED
    )
    assert result is None
    assert state.periods == {} and state.outbox == []


def _message(topic: str, ce_type: str, payload: Message, ce_id: str = "msg_1") -> InboundMessage:
    event = CloudEvent(
        id=ce_id,
        source="/fieldstone/test",
        type=ce_type,
        subject="x",
        time=NOW,
        data=payload.SerializeToString(),
    )
    return InboundMessage(topic=topic, partition=0, offset=0, key=None, value=event.data, event=event)


@pytest.mark.parametrize(
    ("ce_type", "used", "status"),
    [
        ("fieldstone.extraction.completed.v1", 1, ReservationStatus.CONSUMED),
        ("fieldstone.extraction.failed.v1", 0, ReservationStatus.RELEASED),
        ("fieldstone.extraction.canceled.v1", 0, ReservationStatus.RELEASED),
        ("fieldstone.extraction.processing.v1", 0, ReservationStatus.RESERVED),
    ],
)
async def test_extraction_events_by_type(
    uow: FakeUnitOfWork, state: FakeState, ce_type: str, used: int, status: ReservationStatus
) -> None:
    await _reserve(uow, "ext_1")
    consumer = UsageEventHandlers(lambda: uow, PLANS)
    payload = events_pb2.ExtractionStatusChanged(extraction_id="ext_1", workspace_id="ws_1")
    await consumer.on_extraction_event(_message(Topics.EXTRACTIONS, ce_type, payload))
    assert state.periods[("ws_1", "2025-03")].used == used
    assert state.reservations["ext_1"].status is status


async def test_records_that_are_not_cloudevents_are_ignored(uow: FakeUnitOfWork, state: FakeState) -> None:
    consumer = UsageEventHandlers(lambda: uow, PLANS)
    raw = InboundMessage(topic=Topics.EXTRACTIONS, partition=0, offset=0, key=None, value=b"{}", event=None)
    await consumer.on_extraction_event(raw)
    await consumer.on_auth_event(replace(raw, topic=Topics.AUTH))
    assert uow.commits == 0


async def test_workspace_created_sets_the_plan_once(uow: FakeUnitOfWork, state: FakeState) -> None:
    consumer = UsageEventHandlers(lambda: uow, PLANS)
    created = events_pb2.WorkspaceCreated(workspace_id="ws_1", name="Acme", plan="pro")
    await consumer.on_auth_event(_message(Topics.AUTH, "fieldstone.workspace.created.v1", created))
    assert state.plans == {"ws_1": "pro"}
    state.plans["ws_1"] = "core"  # a later change must not be undone by a redelivery
    await consumer.on_auth_event(_message(Topics.AUTH, "fieldstone.workspace.created.v1", created))
    assert state.plans == {"ws_1": "core"}
    await consumer.on_auth_event(
        _message(Topics.AUTH, "fieldstone.api_key.created.v1", created, ce_id="msg_2")
    )
    assert uow.commits == 1
