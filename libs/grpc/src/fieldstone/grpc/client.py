"""Client channels and a call wrapper that turns gRPC errors back into FieldstoneError."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from opentelemetry.instrumentation.grpc import aio_client_interceptors

import grpc
from fieldstone.common.errors import GRPC_CODE_KEY, GRPC_RETRY_AFTER_KEY, FieldstoneError

T = TypeVar("T")


# A target written with a resolver scheme (the Helm chart's `dns:///<headless service>`, or
# `ipv4:a,b`) names every replica: calls are spread over all its addresses, round robin, and a
# lost connection is re-established within a couple of seconds. A plain `host:port` (one address,
# the local stack and the tests) keeps gRPC's default, pick-first, which reconnects when called.
_BALANCED = (
    ("grpc.service_config", json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})),
    ("grpc.max_reconnect_backoff_ms", 2_000),
)


def insecure_channel(target: str) -> grpc.aio.Channel:
    options: list[tuple[str, object]] = [("grpc.keepalive_time_ms", 30_000), ("grpc.enable_retries", 1)]
    if target.startswith(("dns:", "ipv4:", "ipv6:")):
        options.extend(_BALANCED)
    return grpc.aio.insecure_channel(
        target,
        interceptors=aio_client_interceptors(),  # type: ignore[no-untyped-call]
        options=options,
    )


async def call(method: Callable[..., Awaitable[T]], request: Any, *, deadline_seconds: float = 10.0) -> T:
    """Invoke a unary stub method; errors come back with the code the service raised."""
    try:
        return await method(request, timeout=deadline_seconds)
    except grpc.aio.AioRpcError as exc:
        trailing = dict(exc.trailing_metadata() or ())
        code = trailing.get(GRPC_CODE_KEY)
        error = FieldstoneError.from_grpc(
            exc.code(), exc.details() or "", code if isinstance(code, str) else None
        )
        retry_after = trailing.get(GRPC_RETRY_AFTER_KEY)
        if isinstance(retry_after, str) and retry_after.isdigit():
            error.details["retry_after"] = int(retry_after)
        raise error from None
