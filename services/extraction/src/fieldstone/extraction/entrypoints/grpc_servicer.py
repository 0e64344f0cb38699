"""gRPC ExtractionService."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from fieldstone.common.errors import ValidationFailed
from fieldstone.extract import Variable
from fieldstone.extraction.domain import model
from fieldstone.extraction.domain.model import ExtractionRecord
from fieldstone.extraction.service_layer import handlers
from fieldstone.extraction.service_layer.unit_of_work import ExtractionUnitOfWork
from fieldstone.grpc.convert import from_struct, page_of, to_struct, to_timestamp, to_value, variable_to_dict
from fieldstone.proto.extraction.v1 import extraction_pb2, extraction_pb2_grpc

_STATUS = {
    model.QUEUED: extraction_pb2.EXTRACTION_STATUS_QUEUED,
    model.PROCESSING: extraction_pb2.EXTRACTION_STATUS_PROCESSING,
    model.COMPLETED: extraction_pb2.EXTRACTION_STATUS_COMPLETED,
    model.FAILED: extraction_pb2.EXTRACTION_STATUS_FAILED,
    model.CANCELED: extraction_pb2.EXTRACTION_STATUS_CANCELED,
}


def variable_to_message(v: dict[str, Any]) -> extraction_pb2.Variable:
    return extraction_pb2.Variable(
        key=v.get("key", ""),
        type=v.get("type", ""),
        context=v.get("context", ""),
        required=bool(v.get("required", False)),
        array_type=v.get("arrayType") or "",
        fields=[variable_to_message(f) for f in v.get("fields") or []],
    )


def validate_variables(variables: list[dict[str, Any]]) -> None:
    for i, v in enumerate(variables):
        try:
            Variable.model_validate(v)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValidationFailed(f"variables[{i}]{'.' + where if where else ''}: {first['msg']}") from None


def extraction_message(r: ExtractionRecord) -> extraction_pb2.Extraction:
    return extraction_pb2.Extraction(
        id=r.id,
        workspace_id=r.workspace_id,
        file_id=r.file_id,
        file_name=r.file_name or "",
        template_id=r.template_id or "",
        template_name=r.template_name or "",
        status=_STATUS[r.status],
        variables=[variable_to_message(v) for v in r.variables],
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


class ExtractionServicer(extraction_pb2_grpc.ExtractionServiceServicer):  # type: ignore[misc]
    def __init__(
        self, uow_factory: Callable[[], ExtractionUnitOfWork], files: handlers.Files, quota: handlers.Quota
    ) -> None:
        self._uow = uow_factory
        self._files = files
        self._quota = quota

    async def CreateExtraction(self, request: Any, context: Any) -> extraction_pb2.CreateExtractionResponse:
        record = await handlers.create_extraction(
            self._uow(),
            self._files,
            self._quota,
            workspace_id=request.workspace_id,
            file_id=request.file_id,
            variables=[variable_to_dict(v) for v in request.variables],
            validate_variables=validate_variables,
            template_id=request.template_id or None,
            pages=request.pages or None,
            metadata=from_struct(request, "metadata"),
            created_by=request.created_by or None,
        )
        return extraction_pb2.CreateExtractionResponse(extraction=extraction_message(record))

    async def GetExtraction(self, request: Any, context: Any) -> extraction_pb2.GetExtractionResponse:
        record = await handlers.get_extraction(self._uow(), request.workspace_id, request.extraction_id)
        return extraction_pb2.GetExtractionResponse(extraction=extraction_message(record))

    async def GetExtractionResult(
        self, request: Any, context: Any
    ) -> extraction_pb2.GetExtractionResultResponse:
        record = await handlers.get_extraction(self._uow(), request.workspace_id, request.extraction_id)
        return extraction_pb2.GetExtractionResultResponse(
            extraction=extraction_message(record), fields=[field_message(f) for f in record.fields]
        )

    async def ListExtractions(self, request: Any, context: Any) -> extraction_pb2.ListExtractionsResponse:
        limit = request.limit or 20
        records = await handlers.list_extractions(
            self._uow(), request.workspace_id, limit + 1, request.cursor or None
        )
        page, next_cursor = page_of(records, limit)
        return extraction_pb2.ListExtractionsResponse(
            extractions=[extraction_message(r) for r in page], next_cursor=next_cursor
        )

    async def CancelExtraction(self, request: Any, context: Any) -> extraction_pb2.CancelExtractionResponse:
        record = await handlers.cancel_extraction(self._uow(), request.workspace_id, request.extraction_id)
        return extraction_pb2.CancelExtractionResponse(extraction=extraction_message(record))
