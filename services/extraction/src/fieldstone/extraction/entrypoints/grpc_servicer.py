"""gRPC ExtractionService (extractions and batch runs): wire messages in, use cases called."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fieldstone.extraction.adapters.repository import ExtractionQuery
from fieldstone.extraction.entrypoints.messages import extraction_message, field_message, run_message
from fieldstone.extraction.service_layer import extractions, runs
from fieldstone.extraction.service_layer.ports import Files, Quota
from fieldstone.extraction.service_layer.unit_of_work import ExtractionUnitOfWork
from fieldstone.grpc.convert import from_struct, from_timestamp, page_of, variable_to_dict
from fieldstone.proto.extraction.v1 import extraction_pb2, extraction_pb2_grpc


class ExtractionServicer(extraction_pb2_grpc.ExtractionServiceServicer):  # type: ignore[misc]
    def __init__(self, uow_factory: Callable[[], ExtractionUnitOfWork], files: Files, quota: Quota) -> None:
        self._uow = uow_factory
        self._files = files
        self._quota = quota

    async def CreateExtraction(self, request: Any, context: Any) -> extraction_pb2.CreateExtractionResponse:
        record = await extractions.create_extraction(
            self._uow(),
            self._files,
            self._quota,
            workspace_id=request.workspace_id,
            file_id=request.file_id,
            template_id=request.template_id or None,
            variables=[variable_to_dict(v) for v in request.variables],
            pages=request.pages or None,
            metadata=from_struct(request, "metadata"),
            created_by=request.created_by or None,
        )
        return extraction_pb2.CreateExtractionResponse(extraction=extraction_message(record))

    async def GetExtraction(self, request: Any, context: Any) -> extraction_pb2.GetExtractionResponse:
        record = await extractions.get_extraction(self._uow(), request.workspace_id, request.extraction_id)
        return extraction_pb2.GetExtractionResponse(extraction=extraction_message(record))

    async def GetExtractionResult(
        self, request: Any, context: Any
    ) -> extraction_pb2.GetExtractionResultResponse:
        record = await extractions.get_result(self._uow(), request.workspace_id, request.extraction_id)
        return extraction_pb2.GetExtractionResultResponse(
            extraction=extraction_message(record), fields=[field_message(f) for f in record.fields]
        )

    async def ListExtractions(self, request: Any, context: Any) -> extraction_pb2.ListExtractionsResponse:
        limit = request.limit or 20
        query = ExtractionQuery(
            status=request.status or None,
            template_id=request.template_id or None,
            run_id=request.run_id or None,
            created_after=from_timestamp(request, "created_after"),
            created_before=from_timestamp(request, "created_before"),
        )
        records = await extractions.list_extractions(
            self._uow(), request.workspace_id, limit + 1, request.cursor or None, query
        )
        page, next_cursor = page_of(records, limit)
        return extraction_pb2.ListExtractionsResponse(
            extractions=[extraction_message(r) for r in page], next_cursor=next_cursor
        )

    async def CancelExtraction(self, request: Any, context: Any) -> extraction_pb2.CancelExtractionResponse:
        record = await extractions.cancel_extraction(self._uow(), request.workspace_id, request.extraction_id)
        return extraction_pb2.CancelExtractionResponse(extraction=extraction_message(record))

    async def CreateRun(self, request: Any, context: Any) -> extraction_pb2.CreateRunResponse:
        run, records = await runs.create_run(
            self._uow(),
            self._files,
            self._quota,
            workspace_id=request.workspace_id,
            file_ids=list(request.file_ids),
            template_id=request.template_id or None,
            variables=[variable_to_dict(v) for v in request.variables],
            pages=request.pages or None,
            metadata=from_struct(request, "metadata"),
            created_by=request.created_by or None,
        )
        return extraction_pb2.CreateRunResponse(
            run=run_message(run),
            items=[extraction_pb2.RunItem(extraction_id=r.id, file_id=r.file_id) for r in records],
        )

    async def GetRun(self, request: Any, context: Any) -> extraction_pb2.GetRunResponse:
        run = await runs.get_run(self._uow(), request.workspace_id, request.run_id)
        return extraction_pb2.GetRunResponse(run=run_message(run))
