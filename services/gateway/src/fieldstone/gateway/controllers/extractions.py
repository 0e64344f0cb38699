"""/v1/extractions: start, list, poll, read results, cancel."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.params import Parameter

from fieldstone.common.errors import ValidationFailed
from fieldstone.gateway.clients import Clients
from fieldstone.gateway.presenters import extraction_object, extraction_result, page
from fieldstone.gateway.schemas import CreateExtractionBody, ExtractionStatusFilter, VariableBody
from fieldstone.gateway.security import Principal
from fieldstone.grpc import call
from fieldstone.grpc.convert import to_struct, to_timestamp
from fieldstone.proto.extraction.v1 import extraction_pb2

Limit = Annotated[int, Parameter(ge=1, le=100, description="page size (1-100)")]


def variable_message(v: VariableBody) -> extraction_pb2.Variable:
    return extraction_pb2.Variable(
        key=v.key,
        type=v.type,
        context=v.context,
        required=v.required,
        array_type=v.array_type or "",
        fields=[variable_message(f) for f in v.fields or []],
    )


class ExtractionsController(Controller):
    path = "/v1/extractions"
    tags = ["extractions"]

    @post("/", status_code=202, summary="Start an asynchronous extraction")
    async def create_extraction(
        self, data: CreateExtractionBody, principal: Principal, clients: Clients
    ) -> dict[str, Any]:
        """`templateId` pins the template's current version; or give `variables` inline. One unit of
        the plan's quota is reserved; it is consumed on completion and given back on failure or cancel."""
        principal.require("extractions:write")
        file_id = data.file_id or data.document_id
        if not file_id:
            raise ValidationFailed("fileId (or documentId) is required")
        if data.file_id and data.document_id and data.file_id != data.document_id:
            raise ValidationFailed("give fileId or documentId, not two different ids")
        response = await call(
            clients.extraction.CreateExtraction,
            extraction_pb2.CreateExtractionRequest(
                workspace_id=principal.workspace_id,
                file_id=file_id,
                template_id=data.template_id or "",
                variables=[variable_message(v) for v in data.variables or []],
                pages=data.pages or "",
                metadata=to_struct(msgspec.to_builtins(data.metadata)) if data.metadata is not None else None,
                created_by=principal.service_account_id,
            ),
        )
        return extraction_object(response.extraction)

    @get("/", summary="List extractions, newest first, with optional filters")
    async def list_extractions(
        self,
        principal: Principal,
        clients: Clients,
        limit: Limit = 20,
        cursor: str | None = None,
        status: ExtractionStatusFilter | None = None,
        template_id: Annotated[str | None, Parameter(query="templateId")] = None,
        run_id: Annotated[str | None, Parameter(query="runId")] = None,
        created_after: Annotated[
            datetime | None, Parameter(query="createdAfter", description="created at or after (ISO 8601)")
        ] = None,
        created_before: Annotated[
            datetime | None, Parameter(query="createdBefore", description="created before (ISO 8601)")
        ] = None,
    ) -> dict[str, Any]:
        principal.require("extractions:read")
        response = await call(
            clients.extraction.ListExtractions,
            extraction_pb2.ListExtractionsRequest(
                workspace_id=principal.workspace_id,
                limit=limit,
                cursor=cursor or "",
                status=status or "",
                template_id=template_id or "",
                run_id=run_id or "",
                created_after=to_timestamp(created_after),
                created_before=to_timestamp(created_before),
            ),
        )
        return page([extraction_object(e) for e in response.extractions], response.next_cursor)

    @get("/{run_id:str}", summary="Read an extraction's status")
    async def get_extraction(self, run_id: str, principal: Principal, clients: Clients) -> dict[str, Any]:
        principal.require("extractions:read")
        response = await call(
            clients.extraction.GetExtraction,
            extraction_pb2.GetExtractionRequest(workspace_id=principal.workspace_id, extraction_id=run_id),
        )
        return extraction_object(response.extraction)

    @get("/{run_id:str}/result", summary="Read the extracted data, with confidence and provenance")
    async def get_result(self, run_id: str, principal: Principal, clients: Clients) -> dict[str, Any]:
        """Completed: the data and, per field, its confidence, page, bounding box and source text.
        Failed: `extractedData` null with `error` and `errorCode`. Queued or processing:
        409 EXTRACTION_NOT_READY. Canceled: 409 CONFLICT."""
        principal.require("extractions:read")
        response = await call(
            clients.extraction.GetExtractionResult,
            extraction_pb2.GetExtractionResultRequest(
                workspace_id=principal.workspace_id, extraction_id=run_id
            ),
        )
        return extraction_result(response.extraction, response.fields)

    @post("/{run_id:str}/cancel", status_code=200, summary="Cancel a queued or running extraction")
    async def cancel(self, run_id: str, principal: Principal, clients: Clients) -> dict[str, Any]:
        """Canceled at once; a worker running it stops at its next checkpoint. 409 CONFLICT once it ended."""
        principal.require("extractions:write")
        response = await call(
            clients.extraction.CancelExtraction,
            extraction_pb2.CancelExtractionRequest(workspace_id=principal.workspace_id, extraction_id=run_id),
        )
        return extraction_object(response.extraction)
