"""The error model shared by the gateway and every service.

Each error has a stable public `code`; the HTTP status and the gRPC status are derived
from it, so an error raised in a service reaches the API client with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc


@dataclass(frozen=True)
class ErrorKind:
    code: str
    http_status: int
    grpc_status: grpc.StatusCode


KINDS: dict[str, ErrorKind] = {
    k.code: k
    for k in (
        ErrorKind("VALIDATION_ERROR", 400, grpc.StatusCode.INVALID_ARGUMENT),
        ErrorKind("UNAUTHORIZED", 401, grpc.StatusCode.UNAUTHENTICATED),
        ErrorKind("FORBIDDEN", 403, grpc.StatusCode.PERMISSION_DENIED),
        ErrorKind("NOT_FOUND", 404, grpc.StatusCode.NOT_FOUND),
        ErrorKind("CONFLICT", 409, grpc.StatusCode.ALREADY_EXISTS),
        ErrorKind("EXTRACTION_NOT_READY", 409, grpc.StatusCode.FAILED_PRECONDITION),
        ErrorKind("IDEMPOTENCY_KEY_IN_USE", 409, grpc.StatusCode.ABORTED),
        ErrorKind("IDEMPOTENCY_KEY_REUSED", 422, grpc.StatusCode.INVALID_ARGUMENT),
        ErrorKind("PAYLOAD_TOO_LARGE", 413, grpc.StatusCode.INVALID_ARGUMENT),
        ErrorKind("UNSUPPORTED_MEDIA_TYPE", 415, grpc.StatusCode.INVALID_ARGUMENT),
        ErrorKind("RATE_LIMITED", 429, grpc.StatusCode.RESOURCE_EXHAUSTED),
        ErrorKind("QUOTA_EXCEEDED", 429, grpc.StatusCode.RESOURCE_EXHAUSTED),
        ErrorKind("INTERNAL_ERROR", 500, grpc.StatusCode.INTERNAL),
        ErrorKind("SERVICE_UNAVAILABLE", 503, grpc.StatusCode.UNAVAILABLE),
    )
}

# The trailing-metadata keys that carry the public code (and a retry hint) across gRPC.
GRPC_CODE_KEY = "fs-error-code"
GRPC_RETRY_AFTER_KEY = "fs-retry-after"

_BY_GRPC_STATUS: dict[grpc.StatusCode, str] = {
    grpc.StatusCode.INVALID_ARGUMENT: "VALIDATION_ERROR",
    grpc.StatusCode.UNAUTHENTICATED: "UNAUTHORIZED",
    grpc.StatusCode.PERMISSION_DENIED: "FORBIDDEN",
    grpc.StatusCode.NOT_FOUND: "NOT_FOUND",
    grpc.StatusCode.ALREADY_EXISTS: "CONFLICT",
    grpc.StatusCode.FAILED_PRECONDITION: "CONFLICT",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "RATE_LIMITED",
    grpc.StatusCode.UNAVAILABLE: "SERVICE_UNAVAILABLE",
    grpc.StatusCode.DEADLINE_EXCEEDED: "SERVICE_UNAVAILABLE",
}


class FieldstoneError(Exception):
    """An error with a stable public code; raise a subclass."""

    code = "INTERNAL_ERROR"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            if code not in KINDS:
                raise ValueError(f"unknown error code {code!r}")
            self.code = code
        self.details = details or {}

    @property
    def kind(self) -> ErrorKind:
        return KINDS[self.code]

    @classmethod
    def from_grpc(cls, status: grpc.StatusCode, message: str, code: str | None) -> FieldstoneError:
        """Rebuild the error a service raised from its gRPC status and trailing code."""
        if code is None or code not in KINDS:
            code = _BY_GRPC_STATUS.get(status, "INTERNAL_ERROR")
        return cls(message, code=code)


class ValidationFailed(FieldstoneError):
    code = "VALIDATION_ERROR"


class Unauthorized(FieldstoneError):
    code = "UNAUTHORIZED"


class Forbidden(FieldstoneError):
    code = "FORBIDDEN"


class NotFound(FieldstoneError):
    code = "NOT_FOUND"


class Conflict(FieldstoneError):
    code = "CONFLICT"


class ExtractionNotReady(FieldstoneError):
    code = "EXTRACTION_NOT_READY"


class QuotaExceeded(FieldstoneError):
    code = "QUOTA_EXCEEDED"


class PayloadTooLarge(FieldstoneError):
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(FieldstoneError):
    code = "UNSUPPORTED_MEDIA_TYPE"


class ServiceUnavailable(FieldstoneError):
    code = "SERVICE_UNAVAILABLE"
