"""Protobuf messages → the public JSON objects (camelCase, ISO 8601 times)."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from fieldstone.common.time import iso
from fieldstone.grpc.convert import from_struct, from_timestamp, variable_to_dict
from fieldstone.proto.extraction.v1 import extraction_pb2
from fieldstone.proto.files.v1 import files_pb2


def _time(message: Any, field: str) -> str | None:
    return iso(from_timestamp(message, field))


def _enum_name(enum: Any, value: int, prefix: str) -> str:
    return str(enum.Name(value)).removeprefix(prefix).lower()


def file_object(f: Any) -> dict[str, Any]:
    return {
        "id": f.id,
        "object": "file",
        "workspaceId": f.workspace_id,
        "filename": f.filename,
        "contentType": f.content_type,
        "sizeBytes": f.size_bytes,
        "status": _enum_name(files_pb2.FileStatus, f.status, "FILE_STATUS_"),
        "rejectionReason": f.rejection_reason or None,
        "rejectionMessage": f.rejection_message or None,
        "pageCount": f.page_count or None,
        "createdAt": _time(f, "created_at"),
        "uploadedAt": _time(f, "uploaded_at"),
        "deletedAt": _time(f, "deleted_at"),
    }


def file_limits(limits: Any) -> dict[str, Any]:
    """The plan limits a file is checked against (shown when it is created)."""
    return {"limits": {"maxFileBytes": limits.max_file_bytes, "maxPages": limits.max_pages}}


def extraction_object(e: Any) -> dict[str, Any]:
    return {
        "id": e.id,
        "object": "extraction",
        "userId": e.created_by or None,
        "workspaceId": e.workspace_id,
        "templateId": e.template_id or None,
        "templateName": e.template_name or None,
        "templateVersion": e.template_version or None,
        "fileId": e.file_id,
        "fileName": e.file_name or None,
        "status": _enum_name(extraction_pb2.ExtractionStatus, e.status, "EXTRACTION_STATUS_"),
        "extractedData": from_struct(e, "extracted_data"),
        "error": e.error or None,
        "errorCode": e.error_code or None,
        "variables": [variable_to_dict(v) for v in e.variables],
        "source": e.source or "api",
        "runId": e.run_id or None,
        "processingTimeMs": e.processing_time_ms or None,
        "pageCount": e.page_count or None,
        "pages": e.pages or None,
        "metadata": from_struct(e, "metadata"),
        "createdAt": _time(e, "created_at"),
        "startedAt": _time(e, "started_at"),
        "completedAt": _time(e, "completed_at"),
    }


def extraction_result(e: Any, fields: Any) -> dict[str, Any]:
    """`GET /v1/extractions/{id}/result`: the data with per-field confidence and provenance, or the
    error of a failed extraction."""
    record = extraction_object(e)
    return {
        "id": record["id"],
        "object": "extraction_result",
        "status": record["status"],
        "extractedData": record["extractedData"],
        "fields": [field_object(f) for f in fields],
        "error": record["error"],
        "errorCode": record["errorCode"],
        "pageCount": record["pageCount"],
        "processingTimeMs": record["processingTimeMs"],
        "completedAt": record["completedAt"],
    }


def template_object(t: Any) -> dict[str, Any]:
    return {
        "id": t.id,
        "object": "template",
        "userId": t.created_by or None,
        "workspaceId": t.workspace_id,
        "name": t.name,
        "description": t.description or None,
        "variables": [variable_to_dict(v) for v in t.variables],
        "version": t.version,
        "createdAt": _time(t, "created_at"),
        "updatedAt": _time(t, "updated_at"),
    }


def run_object(r: Any) -> dict[str, Any]:
    counts = r.counts
    return {
        "id": r.id,
        "object": "run",
        "userId": r.created_by or None,
        "workspaceId": r.workspace_id,
        "status": r.status,
        "total": r.total,
        "counts": {
            "queued": counts.queued,
            "processing": counts.processing,
            "completed": counts.completed,
            "failed": counts.failed,
            "canceled": counts.canceled,
        },
        "templateId": r.template_id or None,
        "templateName": r.template_name or None,
        "templateVersion": r.template_version or None,
        "variables": [variable_to_dict(v) for v in r.variables],
        "metadata": from_struct(r, "metadata"),
        "createdAt": _time(r, "created_at"),
        "completedAt": _time(r, "completed_at"),
    }


def field_object(f: Any) -> dict[str, Any]:
    return {
        "path": f.path,
        "value": json_format.MessageToDict(f.value) if f.HasField("value") else None,
        "confidence": round(f.confidence, 4),
        "page": f.page or None,
        "boundingBox": list(f.bbox) or None,
        "sourceText": f.source_text or None,
        "reason": f.reason or None,
    }


def endpoint_object(ep: Any) -> dict[str, Any]:
    """`WebhookPublic` plus status and timestamps; never the secret."""
    return {
        "id": ep.id,
        "object": "webhook_endpoint",
        "userId": ep.created_by or None,
        "workspaceId": ep.workspace_id,
        "url": ep.url,
        "events": list(ep.event_types),
        "description": ep.description or None,
        "active": ep.enabled,
        "status": "enabled" if ep.enabled else "disabled",
        "disabledReason": ep.disabled_reason or None,
        "disabledAt": _time(ep, "disabled_at"),
        "secretRotatedAt": _time(ep, "secret_rotated_at"),
        "previousSecretExpiresAt": _time(ep, "previous_secret_expires_at"),
        "createdAt": _time(ep, "created_at"),
        "updatedAt": _time(ep, "updated_at"),
    }


def webhook_attempt_object(a: Any) -> dict[str, Any]:
    return {
        "number": a.number,
        "trigger": a.trigger,
        "outcome": a.outcome,
        "attemptedAt": _time(a, "attempted_at"),
        "durationMs": a.duration_ms if a.outcome != "in_flight" else None,
        "statusCode": a.status_code or None,
        "responseBody": a.response_body or None,
        "error": a.error or None,
    }


def webhook_event_object(ev: Any, *, attempts: bool = False) -> dict[str, Any]:
    """One event for one endpoint; `id` is the webhook-id header of every attempt."""
    import json

    body: dict[str, Any] = {
        "id": ev.id,
        "object": "webhook_event",
        "endpointId": ev.endpoint_id,
        "type": ev.type,
        "status": ev.status,
        "attemptCount": ev.attempt_count,
        "nextAttemptAt": _time(ev, "next_attempt_at"),
        "lastAttemptAt": _time(ev, "last_attempt_at"),
        "createdAt": _time(ev, "created_at"),
        "payload": json.loads(ev.payload_json) if ev.payload_json else None,
    }
    if attempts:
        body["attempts"] = [webhook_attempt_object(a) for a in ev.attempts]
    return body


def page(items: list[dict[str, Any]], next_cursor: str) -> dict[str, Any]:
    return {"data": items, "hasMore": bool(next_cursor), "nextCursor": next_cursor or None}


def service_account_object(sa: Any) -> dict[str, Any]:
    return {
        "id": sa.id,
        "object": "service_account",
        "workspaceId": sa.workspace_id,
        "name": sa.name,
        "description": sa.description or None,
        "createdAt": _time(sa, "created_at"),
        "updatedAt": _time(sa, "updated_at"),
    }


def api_key_object(k: Any) -> dict[str, Any]:
    """`ApiKeyPublic`: never the key itself nor its hash."""
    from fieldstone.common.time import utcnow

    revoked_at = from_timestamp(k, "revoked_at")
    return {
        "id": k.id,
        "object": "api_key",
        "userId": k.service_account_id,
        "serviceAccountId": k.service_account_id,
        "workspaceId": k.workspace_id,
        "name": k.name,
        "prefix": k.prefix,
        "scopes": list(k.scopes),
        "expiresAt": _time(k, "expires_at"),
        "lastUsedAt": _time(k, "last_used_at"),
        "createdAt": _time(k, "created_at"),
        "revoked": revoked_at is not None and revoked_at <= utcnow(),
        "revokedAt": iso(revoked_at),
        "rotatedFrom": k.rotated_from or None,
    }
