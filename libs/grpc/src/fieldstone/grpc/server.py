"""A gRPC asyncio server with the standard health service and the shared interceptors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from opentelemetry.instrumentation.grpc import aio_server_interceptor

import grpc
from fieldstone.common.errors import GRPC_CODE_KEY, GRPC_RETRY_AFTER_KEY, FieldstoneError
from fieldstone.common.logging import get_logger
from fieldstone.common.metrics import RPC_SERVER_DURATION

log = get_logger(__name__)
# How long a client connection lives before the server asks the client to reconnect.
MAX_CONNECTION_AGE_MS = 300_000
# Request fields bound to every log line of a call when the request message has them.
_LOG_FIELDS = ("workspace_id", "extraction_id", "file_id", "endpoint_id", "run_id")


def _status_number(status: Any) -> str:
    """rpc.grpc.status_code is the numeric code (0 = OK)."""
    value = getattr(status, "value", None)
    return str(value[0]) if isinstance(value, tuple) else str(grpc.StatusCode.UNKNOWN.value[0])


def log_context(request: Any) -> dict[str, str]:
    """The ids a request names (workspace, extraction...), for the call's log lines."""
    descriptor = getattr(request, "DESCRIPTOR", None)
    if descriptor is None:
        return {}
    names = descriptor.fields_by_name
    return {f: v for f in _LOG_FIELDS if f in names and isinstance(v := getattr(request, f), str) and v}


class ErrorInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Turns FieldstoneError into a gRPC status plus the public code; logs and measures every call."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary
        method = details.method
        service, _, name = method.lstrip("/").rpartition("/")

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            status = grpc.StatusCode.OK
            try:
                with structlog.contextvars.bound_contextvars(**log_context(request)):
                    try:
                        response = await inner(request, context)
                    except FieldstoneError as exc:
                        status = exc.kind.grpc_status
                        log.info("grpc call rejected", method=method, code=exc.code, message=exc.message)
                        trailing = [(GRPC_CODE_KEY, exc.code)]
                        if "retry_after" in exc.details:
                            trailing.append((GRPC_RETRY_AFTER_KEY, str(int(exc.details["retry_after"]))))
                        context.set_trailing_metadata(tuple(trailing))
                        await context.abort(exc.kind.grpc_status, exc.message)
                    except asyncio.CancelledError:
                        status = grpc.StatusCode.CANCELLED  # the client went away
                        raise
                    except Exception as exc:
                        if isinstance(exc, grpc.aio.AbortError):
                            status = context.code() or grpc.StatusCode.UNKNOWN
                            raise
                        status = grpc.StatusCode.INTERNAL
                        log.exception("grpc call failed", method=method)
                        context.set_trailing_metadata(((GRPC_CODE_KEY, "INTERNAL_ERROR"),))
                        await context.abort(grpc.StatusCode.INTERNAL, "internal error")
                    log.debug("grpc call", method=method, ms=round((time.perf_counter() - started) * 1000, 1))
                    return response
            finally:
                RPC_SERVER_DURATION.labels("grpc", service, name, _status_number(status)).observe(
                    time.perf_counter() - started
                )

        return grpc.unary_unary_rpc_method_handler(
            unary,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class GrpcServer:
    """Owns the server, its health state and the registered servicers."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.port = port
        self.health = health.aio.HealthServicer() if hasattr(health, "aio") else health.HealthServicer()
        self.server = grpc.aio.server(
            interceptors=[aio_server_interceptor(), ErrorInterceptor()],  # type: ignore[no-untyped-call]
            # Connections end after a while (calls in flight get the grace period), so clients
            # resolve their target again and spread onto replicas that started since.
            options=[
                ("grpc.max_connection_age_ms", MAX_CONNECTION_AGE_MS),
                ("grpc.max_connection_age_grace_ms", 30_000),
            ],
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.bound_port = self.server.add_insecure_port(f"{host}:{port}")
        self._services: list[str] = []

    def add(self, register: Callable[[Any, grpc.aio.Server], None], servicer: Any, name: str) -> None:
        register(servicer, self.server)
        self._services.append(name)

    async def start(self) -> None:
        await self.server.start()
        for name in ["", *self._services]:
            await self._set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("grpc server started", port=self.bound_port, services=self._services)

    async def _set(self, name: str, status: Any) -> None:
        result = self.health.set(name, status)
        if hasattr(result, "__await__"):
            await result

    async def stop(self, grace: float = 5.0) -> None:
        for name in ["", *self._services]:
            await self._set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.stop(grace)
