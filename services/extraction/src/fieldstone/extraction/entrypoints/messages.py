"""Domain objects ↔ protobuf messages of fieldstone.extraction.v1."""

from __future__ import annotations

from typing import Any

from fieldstone.extraction.domain import model
from fieldstone.extraction.domain.model import ExtractionRecord
from fieldstone.extraction.domain.runs import Run
from fieldstone.extraction.domain.templates import Template
from fieldstone.grpc.convert import to_struct, to_timestamp, to_value
from fieldstone.proto.extraction.v1 import extraction_pb2

STATUS = {
    model.QUEUED: extraction_pb2.EXTRACTION_STATUS_QUEUED,
    model.PROCESSING: extraction_pb2.EXTRACTION_STATUS_PROCESSING,
    model.COMPLETED: extraction_pb2.EXTRACTION_STATUS_COMPLETED,
    model.FAILED: extraction_pb2.EXTRACTION_STATUS_FAILED,
    model.CANCELED: extraction_pb2.EXTRACTION_STATUS_CANCELED,
}


def variable_message(v: dict[str, Any]) -> extraction_pb2.Variable:
    return extraction_pb2.Variable(
        key=v.get("key", ""),
        type=v.get("type", ""),
        context=v.get("context", ""),
        required=bool(v.get("required", False)),
        array_type=v.get("arrayType") or "",
        fields=[variable_message(f) for f in v.get("fields") or []],
    )


def extraction_message(r: ExtractionRecord) -> extraction_pb2.Extraction:
    return extraction_pb2.Extraction(
        id=r.id,
        workspace_id=r.workspace_id,
        file_id=r.file_id,
        file_name=r.file_name or "",
        template_id=r.template_id or "",
        template_name=r.template_name or "",
        template_version=r.template_version or 0,
        status=STATUS[r.status],
        variables=[variable_message(v) for v in r.variables],
        extracted_data=to_struct(r.extracted_data),
        error=r.error or "",
        error_code=r.error_code or "",
        run_id=r.run_id or "",
        processing_time_ms=r.processing_time_ms or 0,
        page_count=r.page_count or 0,
        metadata=to_struct(r.metadata),
        pages=r.pages or "",
        source="api",
        created_at=to_timestamp(r.created_at),
        started_at=to_timestamp(r.started_at),
        completed_at=to_timestamp(r.completed_at),
        created_by=r.created_by or "",
    )


def field_message(f: dict[str, Any]) -> extraction_pb2.FieldResult:
    return extraction_pb2.FieldResult(
        path=f.get("path", ""),
        value=to_value(f.get("value")),
        confidence=float(f.get("confidence") or 0.0),
        page=int(f.get("page") or 0),
        bbox=[float(x) for x in f.get("bbox") or []],
        source_text=f.get("sourceText") or "",
        reason=f.get("reason") or "",
    )


def run_message(r: Run) -> extraction_pb2.Run:
    counts = {s: r.counts.get(s, 0) for s in model.STATUSES}
    return extraction_pb2.Run(
        id=r.id,
        workspace_id=r.workspace_id,
        status=r.status,
        total=r.total,
        counts=extraction_pb2.RunCounts(**counts),
        template_id=r.template_id or "",
        template_version=r.template_version or 0,
        template_name=r.template_name or "",
        variables=[variable_message(v) for v in r.variables],
        created_at=to_timestamp(r.created_at),
        completed_at=to_timestamp(r.completed_at),
        created_by=r.created_by or "",
        metadata=to_struct(r.metadata),
    )


def template_message(t: Template) -> extraction_pb2.Template:
    return extraction_pb2.Template(
        id=t.id,
        workspace_id=t.workspace_id,
        name=t.name,
        description=t.description,
        variables=[variable_message(v) for v in t.variables],
        version=t.version,
        created_at=to_timestamp(t.created_at),
        updated_at=to_timestamp(t.updated_at),
        created_by=t.created_by or "",
    )
