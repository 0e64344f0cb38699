"""UsageService through a real gRPC server and stub."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from fieldstone.common.errors import FieldstoneError
from fieldstone.grpc import GrpcServer, call, insecure_channel
from fieldstone.proto.usage.v1 import usage_pb2, usage_pb2_grpc
from fieldstone.usage.domain.model import PlanCatalog
from fieldstone.usage.entrypoints.grpc_servicer import UsageServicer
from fieldstone.usage.service_layer.unit_of_work import UsageUnitOfWork

pytestmark = pytest.mark.integration


@pytest.fixture
async def stub(
    uow: Callable[[], UsageUnitOfWork], plans: PlanCatalog
) -> AsyncIterator[usage_pb2_grpc.UsageServiceStub]:
    server = GrpcServer(0)
    server.add(
        usage_pb2_grpc.add_UsageServiceServicer_to_server,
        UsageServicer(uow, plans),
        "fieldstone.usage.v1.UsageService",
    )
    await server.start()
    channel = insecure_channel(f"127.0.0.1:{server.bound_port}")
    try:
        yield usage_pb2_grpc.UsageServiceStub(channel)
    finally:
        await channel.close()
        await server.stop(grace=0)


async def test_reserve_and_get_usage_over_grpc(stub: usage_pb2_grpc.UsageServiceStub) -> None:
    for i in range(5):
        answer = await call(
            stub.Reserve, usage_pb2.ReserveRequest(workspace_id="ws_1", reservation_id=f"ext_{i}")
        )
        assert (answer.usage, answer.limit) == (i + 1, 5)

    with pytest.raises(FieldstoneError) as exc:
        await call(stub.Reserve, usage_pb2.ReserveRequest(workspace_id="ws_1", reservation_id="ext_5"))
    assert exc.value.code == "QUOTA_EXCEEDED"

    usage = await call(stub.GetUsage, usage_pb2.GetUsageRequest(workspace_id="ws_1"))
    assert (usage.plan, usage.usage, usage.reserved, usage.limit) == ("free", 0, 5, 5)
    assert usage.period_key == answer.period_key


async def test_missing_ids_are_a_validation_error(stub: usage_pb2_grpc.UsageServiceStub) -> None:
    with pytest.raises(FieldstoneError) as exc:
        await call(stub.Reserve, usage_pb2.ReserveRequest(workspace_id="ws_1"))
    assert exc.value.code == "VALIDATION_ERROR"
