"""Every error leaves the gateway as `{"error": {"code", "message", "requestId"}}`."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from fieldstone.common.errors import FieldstoneError
from fieldstone.common.logging import get_logger

log = get_logger(__name__)

_BY_STATUS = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}


def request_id(request: Request[Any, Any, Any]) -> str:
    # Unmatched routes never reach the middleware; they still get an id to quote.
    state = request.scope.setdefault("state", {})  # type: ignore[typeddict-item]
    return str(state.setdefault("request_id", f"req_{uuid.uuid4().hex}"))


def envelope(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    body: dict[str, Any] = {"code": code, "message": message, "requestId": request_id(request)}
    return Response({"error": body}, status_code=status, media_type=MediaType.JSON, headers=headers)


def fieldstone_error(request: Request[Any, Any, Any], exc: FieldstoneError) -> Response[Any]:
    if exc.kind.http_status >= 500:
        log.warning("request failed upstream", code=exc.code, message=exc.message, path=request.url.path)
    headers = {"Retry-After": str(int(exc.details["retry_after"]))} if "retry_after" in exc.details else None
    return envelope(request, exc.kind.http_status, exc.code, exc.message, headers)


def validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    problems = exc.extra if isinstance(exc.extra, list) else []
    parts = []
    for p in problems:
        if isinstance(p, dict):
            key = p.get("key")
            parts.append(f"{key}: {p.get('message')}" if key else str(p.get("message")))
    message = "; ".join(parts) or str(exc.detail)
    return envelope(request, 400, "VALIDATION_ERROR", message)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    code = _BY_STATUS.get(exc.status_code, "INTERNAL_ERROR" if exc.status_code >= 500 else "VALIDATION_ERROR")
    return envelope(request, exc.status_code, code, str(exc.detail))


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error", path=request.url.path)
    return envelope(
        request, 500, "INTERNAL_ERROR", "an internal error occurred; quote the requestId to support"
    )


HANDLERS: dict[Any, Any] = {
    FieldstoneError: fieldstone_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: internal_error,
}
