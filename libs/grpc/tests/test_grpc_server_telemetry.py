"""The server interceptor measures every call and binds the request's ids to its log lines."""

from __future__ import annotations

from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY

from fieldstone.grpc import GrpcServer, insecure_channel
from fieldstone.grpc.server import log_context
from fieldstone.proto.usage.v1 import usage_pb2


def test_request_ids_are_bound_to_the_call_s_log_lines() -> None:
    request = usage_pb2.ReserveRequest(workspace_id="ws_1", reservation_id="ext_1")
    assert log_context(request) == {"workspace_id": "ws_1"}
    assert log_context(usage_pb2.ReserveRequest()) == {}
    assert log_context(object()) == {}


async def test_every_call_is_counted_by_method_and_status() -> None:
    labels = {
        "rpc_system": "grpc",
        "rpc_service": "grpc.health.v1.Health",
        "rpc_method": "Check",
        "rpc_grpc_status_code": "0",
    }
    before = REGISTRY.get_sample_value("rpc_server_call_duration_seconds_count", labels) or 0
    server = GrpcServer(0)
    await server.start()
    channel = insecure_channel(f"127.0.0.1:{server.bound_port}")
    try:
        stub = health_pb2_grpc.HealthStub(channel)
        for _ in range(2):
            await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
    finally:
        await channel.close()
        await server.stop(0)
    assert REGISTRY.get_sample_value("rpc_server_call_duration_seconds_count", labels) == before + 2


async def test_calls_are_spread_over_every_address_of_the_target() -> None:
    """Round robin over the resolved addresses (a headless Service's pods, in Kubernetes)."""
    servers = [GrpcServer(0), GrpcServer(0)]
    for server, status in zip(servers, ("SERVING", "NOT_SERVING"), strict=True):
        await server.start()
        await server._set("probe", health_pb2.HealthCheckResponse.ServingStatus.Value(status))
    target = "ipv4:" + ",".join(f"127.0.0.1:{s.bound_port}" for s in servers)
    channel = insecure_channel(target)
    try:
        stub = health_pb2_grpc.HealthStub(channel)
        seen = [
            (await stub.Check(health_pb2.HealthCheckRequest(service="probe"), timeout=5)).status
            for _ in range(40)
        ]
    finally:
        await channel.close()
        for server in servers:
            await server.stop(0)
    assert seen.count(health_pb2.HealthCheckResponse.SERVING) >= 10
    assert seen.count(health_pb2.HealthCheckResponse.NOT_SERVING) >= 10
