"""Endpoints, webhook events, deliveries and attempts: the rules of the webhooks domain (no I/O)."""

from __future__ import annotations

import hashlib
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
EVENT_STATUSES = (PENDING, DELIVERED, FAILED)
IN_FLIGHT, SUCCEEDED = "in_flight", "succeeded"
# Why an endpoint is disabled.
MANUAL, GONE, FAILING = "manual", "gone", "failing"
MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 500
# How much of a receiver's answer the attempt log keeps.
RESPONSE_BODY_BYTES = 20 * 1024

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
    updated_at: datetime | None = None
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    secret_rotated_at: datetime | None = None
    previous_secret_expires_at: datetime | None = None


@dataclass(frozen=True)
class EndpointChanges:
    """What a client asked to change; None leaves a field as it is."""

    url: str | None = None
    enabled: bool | None = None
    event_types: list[str] | None = None
    description: str | None = None


@dataclass(frozen=True)
class Attempt:
    number: int
    trigger: str
    outcome: str
    status_code: int | None
    duration_ms: int | None
    response_body: str
    error: str | None
    attempted_at: datetime


@dataclass(frozen=True)
class WebhookEvent:
    """One occurrence for one endpoint; its id is the webhook-id of every attempt."""

    id: str
    workspace_id: str
    endpoint_id: str
    type: str
    payload: dict[str, Any]
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    created_at: datetime
    attempts: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True)
class EventFilter:
    endpoint_id: str | None = None
    type: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class DueEvent:
    """An event claimed for one attempt, with what is needed to send it."""

    id: str
    endpoint_id: str
    workspace_id: str
    url: str
    # The sealed current secret, then the previous one while a rotation overlap lasts.
    sealed_secrets: list[bytes]
    payload: dict[str, Any]
    # The attempt's number, and the attempt count when the current round began.
    number: int
    round_start: int
    # The W3C trace context the event was made in: its attempts continue that trace.
    traceparent: str | None = None

    @property
    def position(self) -> int:
        """Attempts made in this round before this one (0 for the first)."""
        return self.number - self.round_start - 1


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


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def stable_event_id(source_event_id: str, endpoint_id: str, occurred_at: datetime) -> str:
    """The id of the event an occurrence becomes for one endpoint: the same however often the
    occurrence is processed. A ULID like every id (time of the occurrence, then 80 bits of a hash)."""
    ms = int(occurred_at.timestamp() * 1000)
    digest = hashlib.sha256(f"{source_event_id}\n{endpoint_id}".encode()).digest()
    value = (ms << 80) | int.from_bytes(digest[:10], "big")
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(_CROCKFORD[rem])
    return "evt_" + "".join(reversed(chars))


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


def validate_description(description: str) -> str:
    description = description.strip()
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise ValidationFailed(f"description must be at most {MAX_DESCRIPTION_LENGTH} characters")
    return description


def validate_event_filter(endpoint_id: str, event_type: str, status: str) -> EventFilter:
    if event_type and event_type not in EVENT_TYPES:
        raise ValidationFailed(f"type must be one of {', '.join(EVENT_TYPES)}")
    if status and status not in EVENT_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(EVENT_STATUSES)}")
    return EventFilter(endpoint_id=endpoint_id or None, type=event_type or None, status=status or None)


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
    """At most RESPONSE_BODY_BYTES of a response, as text (Postgres text holds no NUL)."""
    return raw[:RESPONSE_BODY_BYTES].decode("utf-8", "replace").replace("\x00", "\ufffd")


def is_success(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300
