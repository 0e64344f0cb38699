"""Container health check for docker/compose.yaml: exit 0 when this container's service is ready.

Kubernetes does not use it (the chart declares native gRPC and HTTP probes). The service comes from
FIELDSTONE_SERVICE (set in the image): the gateway is asked for GET /readyz, every other service for
the standard grpc.health.v1 Check of the whole server.
"""

from __future__ import annotations

import os
import sys
import urllib.request

TIMEOUT_SECONDS = 3.0


def gateway_ready() -> bool:
    port = os.environ["GATEWAY_HTTP_PORT"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=TIMEOUT_SECONDS) as response:
        return bool(response.status == 200)


def grpc_serving(service: str) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    port = os.environ[f"{service.upper()}_GRPC_PORT"]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=TIMEOUT_SECONDS
        )
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


def main() -> int:
    service = os.environ["FIELDSTONE_SERVICE"]
    try:
        healthy = gateway_ready() if service == "gateway" else grpc_serving(service)
    except Exception as exc:  # any failure to answer is "unhealthy", with the reason in the health log
        sys.stderr.write(f"{service}: {type(exc).__name__}: {exc}\n")
        return 1
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
