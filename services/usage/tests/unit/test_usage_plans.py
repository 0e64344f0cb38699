"""Plan changes, plan limits, threshold events and period rollover, against fakes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from usage_fakes import FakeState, FakeUnitOfWork

from fieldstone.common.errors import QuotaExceeded, ValidationFailed
from fieldstone.messaging import CloudEvent, InboundMessage, Topics
from fieldstone.proto.events.v1 import events_pb2
from fieldstone.usage.domain.model import Outcome
from fieldstone.usage.domain.plans import DEFAULT_PLAN_LIMITS, PlanCatalog, PlanLimits
from fieldstone.usage.entrypoints.event_handlers import UsageEventHandlers
from fieldstone.usage.service_layer import handlers, plans

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
NEXT_MONTH = datetime(2025, 4, 1, 0, 0, tzinfo=UTC)
TEN = PlanLimits(
    extractions_per_period=10, max_file_bytes=1, max_pages=1, requests_per_minute=1, batch_size=1
)
CATALOG = PlanCatalog({**DEFAULT_PLAN_LIMITS, "free": TEN}, default_plan="free")


@pytest.fixture
def state() -> FakeState:
    return FakeState()


@pytest.fixture
def uow(state: FakeState) -> FakeUnitOfWork:
    return FakeUnitOfWork(state)


async def _reserve(uow: FakeUnitOfWork, reservation_id: str, now: datetime = NOW) -> None:
    await handlers.reserve(uow, CATALOG, workspace_id="ws_1", reservation_id=reservation_id, now=now)


async def _complete(uow: FakeUnitOfWork, reservation_id: str, event_id: str | None = None) -> None:
    await handlers.settle_reservation(
        uow,
        CATALOG,
        event_id=event_id or f"msg_{reservation_id}",
        reservation_id=reservation_id,
        outcome=Outcome.CONSUMED,
        now=NOW,
    )


def _events(state: FakeState, ce_type: str) -> list[object]:
    return [e["message"] for e in state.outbox if e["ce_type"] == ce_type]


async def test_plan_change_takes_effect_at_once(uow: FakeUnitOfWork, state: FakeState) -> None:
    for i in range(10):
        await _reserve(uow, f"ext_{i}")
    with pytest.raises(QuotaExceeded):
        await _reserve(uow, "ext_10")

    change = await plans.change_plan(uow, CATALOG, workspace_id="ws_1", plan="starter", now=NOW)
    assert (change.plan, change.previous_plan, change.changed) == ("starter", "free", True)
    await _reserve(uow, "ext_10")  # the very next call sees the new limit
    summary = await handlers.get_usage(uow, CATALOG, "ws_1", now=NOW)
    assert (summary.plan, summary.limit, summary.reserved, summary.remaining) == ("starter", 500, 11, 489)

    await plans.change_plan(uow, CATALOG, workspace_id="ws_1", plan="free", now=NOW)
    with pytest.raises(QuotaExceeded):  # a downgrade below the current usage refuses at once too
        await _reserve(uow, "ext_11")
    assert (await handlers.get_usage(uow, CATALOG, "ws_1", now=NOW)).remaining == 0


async def test_plan_change_publishes_once_per_real_change(uow: FakeUnitOfWork, state: FakeState) -> None:
    await plans.change_plan(uow, CATALOG, workspace_id="ws_1", plan="core", now=NOW)
    again = await plans.change_plan(uow, CATALOG, workspace_id="ws_1", plan="core", now=NOW)
    assert not again.changed
    [event] = state.outbox
    assert (event["topic"], event["key"], event["ce_type"], event["subject"]) == (
        Topics.USAGE,
        "ws_1",
        "fieldstone.workspace_plan.changed.v1",
        "ws_1",
    )
    message = event["message"]
    assert isinstance(message, events_pb2.WorkspacePlanChanged)
    assert (message.workspace_id, message.plan, message.previous_plan) == ("ws_1", "core", "free")


@pytest.mark.parametrize(("workspace_id", "plan"), [("ws_1", "enterprise"), ("ws_1", ""), ("", "core")])
async def test_plan_change_needs_a_known_plan_and_a_workspace(
    uow: FakeUnitOfWork, state: FakeState, workspace_id: str, plan: str
) -> None:
    with pytest.raises(ValidationFailed):
        await plans.change_plan(uow, CATALOG, workspace_id=workspace_id, plan=plan, now=NOW)
    assert state.plans == {} and state.outbox == []


async def test_plan_limits_follow_the_workspace_plan(uow: FakeUnitOfWork) -> None:
    assert await plans.get_plan_limits(uow, CATALOG, "ws_new") == ("free", TEN)
    await plans.change_plan(uow, CATALOG, workspace_id="ws_new", plan="pro", now=NOW)
    assert await plans.get_plan_limits(uow, CATALOG, "ws_new") == ("pro", DEFAULT_PLAN_LIMITS["pro"])
    with pytest.raises(ValidationFailed):
        await plans.get_plan_limits(uow, CATALOG, "")


async def test_workspace_created_after_a_plan_change_does_not_undo_it(
    uow: FakeUnitOfWork, state: FakeState
) -> None:
    # Even setting the default plan explicitly is stored, so the late creation event cannot win.
    await plans.change_plan(uow, CATALOG, workspace_id="ws_1", plan="free", now=NOW)
    created = events_pb2.WorkspaceCreated(workspace_id="ws_1", name="Acme", plan="pro")
    event = CloudEvent(
        id="msg_ws",
        source="/fieldstone/auth",
        type="fieldstone.workspace.created.v1",
        subject="ws_1",
        time=NOW,
        data=created.SerializeToString(),
    )
    message = InboundMessage(
        topic=Topics.AUTH, partition=0, offset=0, key=None, value=event.data, event=event
    )
    await UsageEventHandlers(lambda: uow, CATALOG).on_auth_event(message)
    assert state.plans == {"ws_1": "free"}


async def test_thresholds_at_80_and_100_percent_once_each(uow: FakeUnitOfWork, state: FakeState) -> None:
    for i in range(10):
        await _reserve(uow, f"ext_{i}")
    reached_after = {}
    for i in range(10):
        await _complete(uow, f"ext_{i}")
        reached_after[i + 1] = [
            m.threshold_percent for m in _events(state, "fieldstone.usage.threshold_reached.v1")
        ]
    assert reached_after[7] == [] and reached_after[8] == [80] and reached_after[9] == [80]
    assert reached_after[10] == [80, 100]

    await _complete(uow, "ext_9", event_id="msg_other")  # a second event for a settled extraction
    [at_80, at_100] = _events(state, "fieldstone.usage.threshold_reached.v1")
    assert isinstance(at_100, events_pb2.UsageThresholdReached)
    assert (at_100.workspace_id, at_100.period_key, at_100.plan, at_100.usage, at_100.limit) == (
        "ws_1",
        "2025-03",
        "free",
        10,
        10,
    )
    assert at_100.resets_at.ToDatetime(tzinfo=UTC) == NEXT_MONTH
    # The threshold events were written in the transaction of their consume.
    consumed_8 = next(i for i, e in enumerate(state.outbox) if getattr(e["message"], "usage", None) == 8)
    assert state.outbox[consumed_8 + 1]["message"] is at_80


async def test_released_units_never_reach_a_threshold(uow: FakeUnitOfWork, state: FakeState) -> None:
    for i in range(10):
        await _reserve(uow, f"ext_{i}")
        await handlers.settle_reservation(
            uow, CATALOG, event_id=f"msg_{i}", reservation_id=f"ext_{i}", outcome=Outcome.RELEASED, now=NOW
        )
    assert _events(state, "fieldstone.usage.threshold_reached.v1") == []


async def test_a_new_limit_gets_its_own_thresholds(uow: FakeUnitOfWork, state: FakeState) -> None:
    await plans.change_plan(uow, CATALOG, workspace_id="ws_1", plan="starter", now=NOW)
    for i in range(9):
        await _reserve(uow, f"ext_{i}")
        await _complete(uow, f"ext_{i}")
    assert _events(state, "fieldstone.usage.threshold_reached.v1") == []
    # 9 of free's 10 is past 80 %: the downgrade announces it at once, and only once.
    await plans.change_plan(uow, CATALOG, workspace_id="ws_1", plan="free", now=NOW)
    await plans.change_plan(uow, CATALOG, workspace_id="ws_1", plan="starter", now=NOW)
    await plans.change_plan(uow, CATALOG, workspace_id="ws_1", plan="free", now=NOW)
    [event] = _events(state, "fieldstone.usage.threshold_reached.v1")
    assert (event.threshold_percent, event.usage, event.limit, event.plan) == (80, 9, 10, "free")


async def test_a_new_period_starts_from_zero(uow: FakeUnitOfWork, state: FakeState) -> None:
    for i in range(10):
        await _reserve(uow, f"ext_{i}")
    for i in range(8):
        await _complete(uow, f"ext_{i}")
    with pytest.raises(QuotaExceeded):
        await _reserve(uow, "ext_late")

    april = await handlers.get_usage(uow, CATALOG, "ws_1", now=NEXT_MONTH)
    assert (april.period_key, april.used, april.reserved, april.remaining) == ("2025-04", 0, 0, 10)
    await _reserve(uow, "ext_late", now=NEXT_MONTH)
    # A March reservation settled in April still counts in March.
    await _complete(uow, "ext_8")
    assert (await handlers.get_usage(uow, CATALOG, "ws_1", now=NOW)).used == 9
    april = await handlers.get_usage(uow, CATALOG, "ws_1", now=NEXT_MONTH)
    assert (april.used, april.reserved) == (0, 1)


class FailingOutbox(FakeUnitOfWork):
    """An outbox that fails on the threshold event, as a database error would."""

    async def publish(self, *, ce_type: str, **kw: Any) -> str:
        if ce_type == "fieldstone.usage.threshold_reached.v1":
            raise RuntimeError("outbox write failed")
        return await super().publish(ce_type=ce_type, **kw)


async def test_consume_and_its_threshold_event_commit_together(state: FakeState) -> None:
    uow = FailingOutbox(state)
    for i in range(8):
        await _reserve(uow, f"ext_{i}")
    for i in range(7):
        await _complete(uow, f"ext_{i}")
    with pytest.raises(RuntimeError):
        await _complete(uow, "ext_7")  # the 8th of 10 reaches 80 %
    # Nothing of the failed consume is kept, so the redelivered event can do it all again.
    assert (state.periods[("ws_1", "2025-03")].used, state.periods[("ws_1", "2025-03")].reserved) == (7, 1)
    assert ("usage.extractions", "msg_ext_7") not in state.inbox
    assert state.thresholds == set()
    assert len(state.outbox) == 7
