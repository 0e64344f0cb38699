"""A gRPC asyncio server with the standard health service and the shared interceptors."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from opentelemetry.instrumentation.grpc import aio_server_interceptor

import grpc
from fieldstone.common.errors import GRPC_CODE_KEY, GRPC_RETRY_AFTER_KEY, FieldstoneError
from fieldstone.common.logging import get_logger

log = get_logger(__name__)


class ErrorInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Turns FieldstoneError into a gRPC status plus the public code; logs every call."""

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

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                response = await inner(request, context)
            except FieldstoneError as exc:
                log.info("grpc call rejected", method=method, code=exc.code, message=exc.message)
                trailing = [(GRPC_CODE_KEY, exc.code)]
                if "retry_after" in exc.details:
                    trailing.append((GRPC_RETRY_AFTER_KEY, str(int(exc.details["retry_after"]))))
                context.set_trailing_metadata(tuple(trailing))
                await context.abort(exc.kind.grpc_status, exc.message)
            except Exception as exc:
                if isinstance(exc, grpc.aio.AbortError):
                    raise
                log.exception("grpc call failed", method=method)
                context.set_trailing_metadata(((GRPC_CODE_KEY, "INTERNAL_ERROR"),))
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")
            log.debug("grpc call", method=method, ms=round((time.perf_counter() - started) * 1000, 1))
            return response

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
            interceptors=[aio_server_interceptor(), ErrorInterceptor()]  # type: ignore[no-untyped-call]
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
