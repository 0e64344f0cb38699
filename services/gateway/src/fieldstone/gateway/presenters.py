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
        "createdAt": _time(f, "created_at"),
        "uploadedAt": _time(f, "uploaded_at"),
    }


def extraction_object(e: Any) -> dict[str, Any]:
    return {
        "id": e.id,
        "object": "extraction",
        "userId": e.created_by or None,
        "workspaceId": e.workspace_id,
        "templateId": e.template_id or None,
        "templateName": e.template_name or None,
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
        "completedAt": _time(e, "completed_at"),
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
    return {
        "id": ep.id,
        "object": "webhook_endpoint",
        "userId": ep.created_by or None,
        "workspaceId": ep.workspace_id,
        "url": ep.url,
        "events": list(ep.event_types),
        "description": ep.description or None,
        "active": ep.enabled,
        "createdAt": _time(ep, "created_at"),
    }


def webhook_event_object(ev: Any) -> dict[str, Any]:
    import json

    return {
        "id": ev.id,
        "object": "webhook_event",
        "type": ev.type,
        "payload": json.loads(ev.payload_json) if ev.payload_json else None,
        "createdAt": _time(ev, "created_at"),
        "deliveries": [
            {
                "id": d.id,
                "endpointId": d.endpoint_id,
                "status": d.status,
                "nextAttemptAt": _time(d, "next_attempt_at"),
                "attempts": [
                    {
                        "number": a.number,
                        "statusCode": a.status_code or None,
                        "durationMs": a.duration_ms,
                        "responseExcerpt": a.response_excerpt or None,
                        "error": a.error or None,
                        "attemptedAt": _time(a, "attempted_at"),
                    }
                    for a in d.attempts
                ],
            }
            for d in ev.deliveries
        ],
    }


def page(items: list[dict[str, Any]], next_cursor: str) -> dict[str, Any]:
    return {"data": items, "hasMore": bool(next_cursor), "nextCursor": next_cursor or None}
