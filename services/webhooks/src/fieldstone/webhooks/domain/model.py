"""Endpoints, webhook events, deliveries and attempts: the rules of the webhooks domain (no I/O)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any
from urllib.parse import urlsplit

from fieldstone.common.errors import ValidationFailed
from fieldstone.common.time import iso
from fieldstone.webhooks.domain.destinations import refusal_reason

EVENT_TYPES = ("extraction.completed", "extraction.failed", "extraction.canceled")
DEFAULT_EVENT_TYPES = ("extraction.completed", "extraction.failed")
# CloudEvent types on fieldstone.extractions.v1 that become webhook events.
CE_TYPES = {
    "fieldstone.extraction.completed.v1": "extraction.completed",
    "fieldstone.extraction.failed.v1": "extraction.failed",
    "fieldstone.extraction.canceled.v1": "extraction.canceled",
}
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 500
EXCERPT_BYTES = 1024

Network = IPv4Network | IPv6Network


@dataclass(frozen=True)
class Endpoint:
    id: str
    workspace_id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    created_at: datetime
    created_by: str = ""


@dataclass(frozen=True)
class Attempt:
    number: int
    status_code: int | None
    duration_ms: int
    response_excerpt: str
    error: str | None
    attempted_at: datetime


@dataclass(frozen=True)
class Delivery:
    id: str
    event_id: str
    endpoint_id: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    attempts: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    workspace_id: str
    type: str
    payload: dict[str, Any]
    created_at: datetime
    deliveries: list[Delivery] = field(default_factory=list)


@dataclass(frozen=True)
class DueDelivery:
    """A delivery claimed for one attempt, with what is needed to send it."""

    id: str
    event_id: str
    endpoint_id: str
    workspace_id: str
    url: str
    sealed_secret: bytes
    payload: dict[str, Any]


@dataclass(frozen=True)
class ExtractionOutcome:
    """What the extraction service reported about a finished extraction."""

    extraction_id: str
    workspace_id: str
    file_id: str
    template_id: str
    status: str
    error_code: str
    occurred_at: datetime


def webhook_type_for(ce_type: str) -> str | None:
    return CE_TYPES.get(ce_type)


def validate_event_types(event_types: list[str]) -> list[str]:
    """The subscribed types in canonical order; none given means the default subscription."""
    if not event_types:
        return list(DEFAULT_EVENT_TYPES)
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise ValidationFailed(
            f"unknown event types: {', '.join(unknown)}; expected some of {', '.join(EVENT_TYPES)}"
        )
    return [t for t in EVENT_TYPES if t in event_types]


def validate_url(url: str, *, allow_insecure_http: bool, allowed_networks: tuple[Network, ...]) -> str:
    """Checks done when an endpoint is saved; hostnames are checked again when each delivery connects."""
    url = url.strip()
    if not url:
        raise ValidationFailed("url is required")
    if len(url) > MAX_URL_LENGTH:
        raise ValidationFailed(f"url must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        raise ValidationFailed("url is not a valid URL") from None
    schemes = ("https", "http") if allow_insecure_http else ("https",)
    if parts.scheme not in schemes:
        raise ValidationFailed(
            "url must use https" if not allow_insecure_http else "url must use http or https"
        )
    if not parts.hostname:
        raise ValidationFailed("url must include a host")
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed("url must not contain credentials")
    try:
        literal = ip_address(parts.hostname)
    except ValueError:
        return url
    if refusal_reason(literal, allowed_networks) is not None:
        raise ValidationFailed("url points to an address that webhooks may not be sent to")
    return url


def extraction_payload(webhook_type: str, outcome: ExtractionOutcome, public_api_url: str) -> dict[str, Any]:
    """The body of a webhook: small, with a link to the result rather than the result itself."""
    data: dict[str, Any] = {
        "extractionId": outcome.extraction_id,
        "status": outcome.status,
        "templateId": outcome.template_id,
        "fileId": outcome.file_id,
        "workspaceId": outcome.workspace_id,
    }
    if outcome.error_code:
        data["errorCode"] = outcome.error_code
    data["resultUrl"] = f"{public_api_url.rstrip('/')}/v1/extractions/{outcome.extraction_id}/result"
    return {"type": webhook_type, "timestamp": iso(outcome.occurred_at), "data": data}


_BODY_ORDER = ("type", "timestamp", "data")
_DATA_ORDER = ("extractionId", "status", "templateId", "fileId", "workspaceId", "errorCode", "resultUrl")


def _ordered(data: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    rank = {k: i for i, k in enumerate(order)}
    return {k: data[k] for k in sorted(data, key=lambda k: (rank.get(k, len(order)), k))}


def render_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed. jsonb does not keep key order, so it is fixed here."""
    body = _ordered(payload, _BODY_ORDER)
    if isinstance(body.get("data"), dict):
        body["data"] = _ordered(body["data"], _DATA_ORDER)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def excerpt(raw: bytes) -> str:
    """At most EXCERPT_BYTES of a response, as text."""
    return raw[:EXCERPT_BYTES].decode("utf-8", "replace")


def is_success(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300
