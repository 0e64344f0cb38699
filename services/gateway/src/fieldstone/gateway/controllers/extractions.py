"""/v1/extractions: start, poll, read results, cancel."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.params import Parameter

from fieldstone.common.errors import ExtractionNotReady, ValidationFailed
from fieldstone.gateway.clients import Clients
from fieldstone.gateway.presenters import extraction_object, field_object, page
from fieldstone.gateway.schemas import CreateExtractionBody, VariableBody
from fieldstone.gateway.security import Principal
from fieldstone.grpc import call
from fieldstone.grpc.convert import to_struct
from fieldstone.proto.extraction.v1 import extraction_pb2

Limit = Annotated[int, Parameter(ge=1, le=100, description="page size (1-100)")]


def _variable(v: VariableBody) -> extraction_pb2.Variable:
    return extraction_pb2.Variable(
        key=v.key,
        type=v.type,
        context=v.context,
        required=v.required,
        array_type=v.array_type or "",
        fields=[_variable(f) for f in v.fields or []],
    )


class ExtractionsController(Controller):
    path = "/v1/extractions"
    tags = ["extractions"]

    @post("/", status_code=202, summary="Start an asynchronous extraction")
    async def create_extraction(
        self, data: CreateExtractionBody, principal: Principal, clients: Clients
    ) -> dict[str, Any]:
        principal.require("extractions:write")
        file_id = data.file_id or data.document_id
        if not file_id:
            raise ValidationFailed("fileId (or documentId) is required")
        if data.file_id and data.document_id and data.file_id != data.document_id:
            raise ValidationFailed("give fileId or documentId, not two different ids")
        if bool(data.template_id) == bool(data.variables):
            raise ValidationFailed("give exactly one of templateId and a non-empty variables list")
        response = await call(
            clients.extraction.CreateExtraction,
            extraction_pb2.CreateExtractionRequest(
                workspace_id=principal.workspace_id,
                file_id=file_id,
                template_id=data.template_id or "",
                variables=[_variable(v) for v in data.variables or []],
                pages=data.pages or "",
                metadata=to_struct(msgspec.to_builtins(data.metadata)) if data.metadata is not None else None,
                created_by=principal.service_account_id,
            ),
        )
        return extraction_object(response.extraction)

    @get("/", summary="List extractions, newest first")
    async def list_extractions(
        self, principal: Principal, clients: Clients, limit: Limit = 20, cursor: str | None = None
    ) -> dict[str, Any]:
        principal.require("extractions:read")
        response = await call(
            clients.extraction.ListExtractions,
            extraction_pb2.ListExtractionsRequest(
                workspace_id=principal.workspace_id, limit=limit, cursor=cursor or ""
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
        principal.require("extractions:read")
        response = await call(
            clients.extraction.GetExtractionResult,
            extraction_pb2.GetExtractionResultRequest(
                workspace_id=principal.workspace_id, extraction_id=run_id
            ),
        )
        record = extraction_object(response.extraction)
        if record["status"] != "completed":
            raise ExtractionNotReady(
                f"extraction {run_id} is {record['status']}; the result exists once it is completed"
            )
        return {
            "id": record["id"],
            "object": "extraction_result",
            "status": record["status"],
            "extractedData": record["extractedData"],
            "fields": [field_object(f) for f in response.fields],
            "pageCount": record["pageCount"],
            "processingTimeMs": record["processingTimeMs"],
            "completedAt": record["completedAt"],
        }

    @post("/{run_id:str}/cancel", status_code=200, summary="Cancel a queued or running extraction")
    async def cancel(self, run_id: str, principal: Principal, clients: Clients) -> dict[str, Any]:
        principal.require("extractions:write")
        response = await call(
            clients.extraction.CancelExtraction,
            extraction_pb2.CancelExtractionRequest(workspace_id=principal.workspace_id, extraction_id=run_id),
        )
        return extraction_object(response.extraction)
