"""The Litestar application factory of the public API."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Litestar, MediaType, Request, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.response import Response

from fieldstone.common.metrics import exposition
from fieldstone.gateway.clients import Clients
from fieldstone.gateway.controllers.extractions import ExtractionsController
from fieldstone.gateway.controllers.files import FilesController
from fieldstone.gateway.controllers.keys import ApiKeysController, ServiceAccountsController
from fieldstone.gateway.controllers.runs import RunsController
from fieldstone.gateway.controllers.templates import TemplatesController
from fieldstone.gateway.controllers.usage import get_usage
from fieldstone.gateway.controllers.webhooks import WebhookEndpointsController, WebhookEventsController
from fieldstone.gateway.conventions import (
    Context,
    idempotency_middleware,
    input_hygiene_middleware,
    rate_limit_middleware,
    request_id_middleware,
)
from fieldstone.gateway.deps import provide_clients, provide_principal
from fieldstone.gateway.errors import HANDLERS
from fieldstone.gateway.openapi import complete
from fieldstone.gateway.security import Authenticator
from fieldstone.gateway.telemetry import telemetry_middleware, tracing_middleware


@get("/healthz", tags=["operations"], include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", tags=["operations"], include_in_schema=False)
async def readyz(request: Request[Any, Any, Any]) -> Response[Any]:
    """Ready when every upstream service answers its gRPC health check."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    clients: Clients = request.app.state.clients
    names = ["auth", "files", "extraction", "webhooks", "usage"]

    async def check(channel: Any) -> bool:
        try:
            r = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
            return bool(r.status == health_pb2.HealthCheckResponse.SERVING)
        except Exception:
            return False

    results = await asyncio.gather(*(check(c) for c in clients.channels))
    status = {n: ("ok" if ok else "unavailable") for n, ok in zip(names, results, strict=True)}
    ready = all(results)
    return Response(
        {"status": "ok" if ready else "unavailable", "services": status}, status_code=200 if ready else 503
    )


@get("/metrics", tags=["operations"], include_in_schema=False)
async def metrics() -> Response[bytes]:
    """Prometheus text: request rates and latencies per route, gRPC, consumers (docs/observability.md)."""
    body, content_type = exposition()
    return Response(body, media_type=content_type)


@get("/openapi.json", tags=["operations"], include_in_schema=False, media_type=MediaType.JSON)
async def openapi_json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return complete(request.app.openapi_schema.to_schema())


# Largest file accepted in a multipart upload (GATEWAY_MAX_UPLOAD_BYTES); bigger files use the direct
# upload. Request bodies may exceed it by the multipart framing, and no body may be larger.
DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
_MULTIPART_OVERHEAD = 64 * 1024


def create_app(
    clients: Clients,
    authenticator: Authenticator,
    *,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    **kwargs: Any,
) -> Litestar:
    return Litestar(
        route_handlers=[
            ServiceAccountsController,
            ApiKeysController,
            FilesController,
            ExtractionsController,
            TemplatesController,
            RunsController,
            WebhookEndpointsController,
            WebhookEventsController,
            get_usage,
            healthz,
            readyz,
            metrics,
            openapi_json,
        ],
        dependencies={
            "principal": Provide(provide_principal),
            "clients": Provide(provide_clients, sync_to_thread=False),
        },
        exception_handlers=HANDLERS,
        logging_config=None,  # logging is configured once, as JSON, by fieldstone.common
        openapi_config=OpenAPIConfig(
            title="Fieldstone API",
            version="1.0.0",
            description="Upload documents, describe the fields you want, get typed JSON back.",
            path="/docs",
            render_plugins=[SwaggerRenderPlugin()],
        ),
        state=State(
            {"clients": clients, "authenticator": authenticator, "max_upload_bytes": max_upload_bytes}
        ),
        request_max_body_size=max(max_upload_bytes + _MULTIPART_OVERHEAD, 1024 * 1024),
        **kwargs,
    )


def create_asgi(clients: Clients, ctx: Context, *, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> Any:
    """The served application: the API conventions wrap every request, routed or not, inside the
    request's span, metrics and log context."""
    app: Any = create_app(clients, ctx.authenticator, max_upload_bytes=max_upload_bytes)
    return tracing_middleware(
        request_id_middleware(
            telemetry_middleware(
                input_hygiene_middleware(rate_limit_middleware(ctx, idempotency_middleware(ctx, app)))
            )
        )
    )
