"""The OpenAPI document: Litestar's generated schema, completed with what every route shares —
the error envelope and its codes, the rate-limit and request-id headers, bearer auth, and
Idempotency-Key on POST."""

from __future__ import annotations

import copy
from typing import Any

from fieldstone.common.errors import KINDS

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "requestId"],
            "properties": {
                "code": {"type": "string", "enum": [*sorted(KINDS), "METHOD_NOT_ALLOWED"]},
                "message": {"type": "string"},
                "requestId": {"type": "string"},
            },
        }
    },
}
_HEADERS = {
    "X-Request-Id": {"description": "Id of this request; quote it to support", "schema": {"type": "string"}},
    "RateLimit-Policy": {
        "description": 'IETF rate-limit policy, e.g. "default";q=300;w=60',
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'IETF rate-limit state, e.g. "default";r=299;t=42',
        "schema": {"type": "string"},
    },
}
_COMMON_ERRORS = {
    "400": "VALIDATION_ERROR: the request is invalid",
    "401": "UNAUTHORIZED: missing, malformed, unknown, revoked or expired API key",
    "403": "FORBIDDEN: the key lacks the scope this route needs",
    "404": "NOT_FOUND: no such object in this workspace",
    "409": "CONFLICT, EXTRACTION_NOT_READY or IDEMPOTENCY_KEY_IN_USE",
    "413": "PAYLOAD_TOO_LARGE",
    "415": "UNSUPPORTED_MEDIA_TYPE",
    "422": "IDEMPOTENCY_KEY_REUSED: the key was used with a different request",
    "429": "RATE_LIMITED or QUOTA_EXCEEDED (with Retry-After)",
    "500": "INTERNAL_ERROR",
    "503": "SERVICE_UNAVAILABLE",
}
_IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Up to 255 characters; a retry with the same key and body replays the first response (24 h)",
    "schema": {"type": "string", "maxLength": 257},
}


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(schema)
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = _ERROR
    components.setdefault("securitySchemes", {})["apiKey"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key: fsk_live_ + 30 base62 characters + a 6-character checksum",
    }
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "post", "patch", "delete", "put"):
                continue
            responses = op.setdefault("responses", {})
            for response in responses.values():
                response.setdefault("headers", {}).update(copy.deepcopy(_HEADERS))
            for code, text in _COMMON_ERRORS.items():
                if code == "422" and method != "post":
                    continue
                responses[code] = {
                    "description": text,
                    "headers": copy.deepcopy(_HEADERS)
                    | ({"Retry-After": {"schema": {"type": "integer"}}} if code == "429" else {}),
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
            if path.startswith("/v1/"):
                op["security"] = [{"apiKey": []}]
                if method == "post":
                    op.setdefault("parameters", []).append(copy.deepcopy(_IDEMPOTENCY))
    return doc
