"""gRPC TemplateService: wire messages in, template use cases called."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fieldstone.extraction.entrypoints.messages import template_message
from fieldstone.extraction.service_layer import templates
from fieldstone.extraction.service_layer.unit_of_work import ExtractionUnitOfWork
from fieldstone.grpc.convert import page_of, variable_to_dict
from fieldstone.proto.extraction.v1 import extraction_pb2, extraction_pb2_grpc


class TemplateServicer(extraction_pb2_grpc.TemplateServiceServicer):  # type: ignore[misc]
    def __init__(self, uow_factory: Callable[[], ExtractionUnitOfWork]) -> None:
        self._uow = uow_factory

    async def CreateTemplate(self, request: Any, context: Any) -> extraction_pb2.CreateTemplateResponse:
        template = await templates.create_template(
            self._uow(),
            workspace_id=request.workspace_id,
            name=request.name,
            description=request.description,
            variables=[variable_to_dict(v) for v in request.variables],
            created_by=request.created_by or None,
        )
        return extraction_pb2.CreateTemplateResponse(template=template_message(template))

    async def GetTemplate(self, request: Any, context: Any) -> extraction_pb2.GetTemplateResponse:
        template = await templates.get_template(
            self._uow(), request.workspace_id, request.template_id, request.version or None
        )
        return extraction_pb2.GetTemplateResponse(template=template_message(template))

    async def ListTemplates(self, request: Any, context: Any) -> extraction_pb2.ListTemplatesResponse:
        limit = request.limit or 20
        found = await templates.list_templates(
            self._uow(), request.workspace_id, limit + 1, request.cursor or None
        )
        page, next_cursor = page_of(found, limit)
        return extraction_pb2.ListTemplatesResponse(
            templates=[template_message(t) for t in page], next_cursor=next_cursor
        )

    async def UpdateTemplate(self, request: Any, context: Any) -> extraction_pb2.UpdateTemplateResponse:
        template = await templates.update_template(
            self._uow(),
            request.workspace_id,
            request.template_id,
            name=request.name if request.HasField("name") else None,
            description=request.description if request.HasField("description") else None,
            variables=(
                [variable_to_dict(v) for v in request.variables.values]
                if request.HasField("variables")
                else None
            ),
        )
        return extraction_pb2.UpdateTemplateResponse(template=template_message(template))

    async def DeleteTemplate(self, request: Any, context: Any) -> extraction_pb2.DeleteTemplateResponse:
        await templates.delete_template(self._uow(), request.workspace_id, request.template_id)
        return extraction_pb2.DeleteTemplateResponse()
