"""Request telemetry of the public API: the HTTP server span, request metrics and log context.

OpenTelemetry's ASGI middleware opens the SERVER span (continuing an incoming `traceparent`);
inside it, this middleware names the span after the matched route once Litestar has routed the
request, records `http.server.request.duration` per route, and binds the request id to every log
line of the request (the principal's workspace is bound when the request authenticates).
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

from fieldstone.common.metrics import HTTP_SERVER_DURATION
from fieldstone.gateway.conventions import ASGIApp, Message, Receive, Scope, Send

# Probes and scrapes make no spans (they would drown the traces of real requests).
_NOT_TRACED = "healthz,readyz,metrics"


def route_of(scope: Scope) -> str:
    """The route template Litestar matched (e.g. /v1/extractions/{run_id}); "" before routing."""
    template = scope.get("path_template")
    return template if isinstance(template, str) else ""


def telemetry_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        method, status, route = scope["method"], 500, ""
        span = trace.get_current_span()
        request_id = scope.get("state", {}).get("request_id", "")
        if request_id:
            span.set_attribute("fieldstone.request_id", request_id)

        async def capture(message: Message) -> None:
            nonlocal status, route
            if message["type"] == "http.response.start":
                # Now, not later: Litestar empties the scope once the response is done, and the
                # ASGI instrumentation ends the span with the last body chunk.
                status, route = message["status"], route_of(scope)
                if route:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await app(scope, receive, capture)
        finally:
            structlog.contextvars.unbind_contextvars("request_id", "workspace_id")
            HTTP_SERVER_DURATION.labels(method, route, str(status)).observe(time.perf_counter() - started)

    return middleware


def tracing_middleware(app: ASGIApp) -> Any:
    """The SERVER span around everything else (excluded: probes and /metrics)."""
    return OpenTelemetryMiddleware(app, excluded_urls=_NOT_TRACED, exclude_spans=["receive", "send"])
