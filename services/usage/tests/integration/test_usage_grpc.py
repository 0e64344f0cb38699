"""UsageService through a real gRPC server and stub, on the real Postgres, with a test clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from usage_catalog import small_catalog

from fieldstone.common.errors import FieldstoneError
from fieldstone.grpc import GrpcServer, call, insecure_channel
from fieldstone.grpc.convert import from_timestamp
from fieldstone.proto.usage.v1 import usage_pb2, usage_pb2_grpc
from fieldstone.usage.domain.plans import PlanCatalog
from fieldstone.usage.entrypoints.grpc_servicer import UsageServicer
from fieldstone.usage.service_layer.unit_of_work import UsageUnitOfWork

pytestmark = pytest.mark.integration

# One second before the end of March (UTC).
LAST_SECOND_OF_MARCH = datetime(2025, 3, 31, 23, 59, 59, tzinfo=UTC)
APRIL = datetime(2025, 4, 1, tzinfo=UTC)


@dataclass
class SettableClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(name="plans")
def _plans() -> PlanCatalog:
    return small_catalog(5)


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(LAST_SECOND_OF_MARCH)


@pytest.fixture
async def stub(
    uow: Callable[[], UsageUnitOfWork], plans: PlanCatalog, clock: SettableClock
) -> AsyncIterator[usage_pb2_grpc.UsageServiceStub]:
    server = GrpcServer(0)
    server.add(
        usage_pb2_grpc.add_UsageServiceServicer_to_server,
        UsageServicer(uow, plans, clock=clock),
        "fieldstone.usage.v1.UsageService",
    )
    await server.start()
    channel = insecure_channel(f"127.0.0.1:{server.bound_port}")
    try:
        yield usage_pb2_grpc.UsageServiceStub(channel)
    finally:
        await channel.close()
        await server.stop(grace=0)


async def _reserve(stub: usage_pb2_grpc.UsageServiceStub, reservation_id: str) -> usage_pb2.ReserveResponse:
    return await call(
        stub.Reserve, usage_pb2.ReserveRequest(workspace_id="ws_1", reservation_id=reservation_id)
    )


async def _usage(stub: usage_pb2_grpc.UsageServiceStub) -> usage_pb2.GetUsageResponse:
    return await call(stub.GetUsage, usage_pb2.GetUsageRequest(workspace_id="ws_1"))


async def test_reserve_and_get_usage_over_grpc(stub: usage_pb2_grpc.UsageServiceStub) -> None:
    for i in range(5):
        answer = await _reserve(stub, f"ext_{i}")
        assert (answer.usage, answer.limit) == (i + 1, 5)

    with pytest.raises(FieldstoneError) as exc:
        await _reserve(stub, "ext_5")
    assert exc.value.code == "QUOTA_EXCEEDED"
    assert "the free plan allows 5 extractions per billing period" in exc.value.message
    assert exc.value.details["retry_after"] == 1  # the period ends in one second

    usage = await _usage(stub)
    assert (usage.plan, usage.usage, usage.reserved, usage.limit, usage.remaining) == ("free", 0, 5, 5, 0)
    assert (usage.period_key, from_timestamp(usage, "resets_at")) == ("2025-03", APRIL)
    assert usage.period_key == answer.period_key


async def test_period_rollover_starts_from_zero(
    stub: usage_pb2_grpc.UsageServiceStub, clock: SettableClock
) -> None:
    for i in range(5):
        await _reserve(stub, f"ext_{i}")
    with pytest.raises(FieldstoneError):
        await _reserve(stub, "ext_5")

    clock.now = APRIL
    usage = await _usage(stub)
    assert (usage.period_key, usage.usage, usage.reserved, usage.remaining) == ("2025-04", 0, 0, 5)
    assert from_timestamp(usage, "resets_at") == datetime(2025, 5, 1, tzinfo=UTC)
    assert (await _reserve(stub, "ext_5")).usage == 1
    # A repeat of a March reservation is still answered from March.
    assert (await _reserve(stub, "ext_0")).period_key == "2025-03"


async def test_set_plan_changes_limits_at_once(stub: usage_pb2_grpc.UsageServiceStub) -> None:
    limits = await call(stub.GetPlanLimits, usage_pb2.GetPlanLimitsRequest(workspace_id="ws_1"))
    assert (limits.plan, limits.extractions_per_period, limits.max_file_bytes, limits.batch_size) == (
        "free",
        5,
        1024,
        5,
    )

    changed = await call(
        stub.SetWorkspacePlan, usage_pb2.SetWorkspacePlanRequest(workspace_id="ws_1", plan="pro")
    )
    assert (changed.plan, changed.previous_plan, changed.changed) == ("pro", "free", True)
    limits = await call(stub.GetPlanLimits, usage_pb2.GetPlanLimitsRequest(workspace_id="ws_1"))
    assert (
        limits.plan,
        limits.extractions_per_period,
        limits.max_file_bytes,
        limits.max_pages,
        limits.requests_per_minute,
        limits.batch_size,
    ) == ("pro", 10_000, 100 * 1024 * 1024, 1_000, 6_000, 1_000)
    assert ((await _usage(stub)).plan, (await _usage(stub)).limit) == ("pro", 10_000)

    again = await call(
        stub.SetWorkspacePlan, usage_pb2.SetWorkspacePlanRequest(workspace_id="ws_1", plan="pro")
    )
    assert (again.previous_plan, again.changed) == ("pro", False)


@pytest.mark.parametrize(
    "request_",
    [
        usage_pb2.SetWorkspacePlanRequest(workspace_id="ws_1", plan="gold"),
        usage_pb2.SetWorkspacePlanRequest(plan="core"),
    ],
)
async def test_set_plan_validates(
    stub: usage_pb2_grpc.UsageServiceStub, request_: usage_pb2.SetWorkspacePlanRequest
) -> None:
    with pytest.raises(FieldstoneError) as exc:
        await call(stub.SetWorkspacePlan, request_)
    assert exc.value.code == "VALIDATION_ERROR"


async def test_missing_ids_are_a_validation_error(stub: usage_pb2_grpc.UsageServiceStub) -> None:
    with pytest.raises(FieldstoneError) as exc:
        await call(stub.Reserve, usage_pb2.ReserveRequest(workspace_id="ws_1"))
    assert exc.value.code == "VALIDATION_ERROR"
    with pytest.raises(FieldstoneError) as exc:
        await call(stub.GetPlanLimits, usage_pb2.GetPlanLimitsRequest())
    assert exc.value.code == "VALIDATION_ERROR"
