"""/v1/templates: named, typed variable lists; every change makes a new version."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter

from fieldstone.gateway.clients import Clients
from fieldstone.gateway.controllers.extractions import variable_message
from fieldstone.gateway.presenters import page, template_object
from fieldstone.gateway.schemas import CreateTemplateBody, UpdateTemplateBody
from fieldstone.gateway.security import Principal
from fieldstone.grpc import call
from fieldstone.proto.extraction.v1 import extraction_pb2

Limit = Annotated[int, Parameter(ge=1, le=100, description="page size (1-100)")]
# Clients.connect opens the channels in the order auth, files, extraction, webhooks, usage.


def templates_stub(clients: Clients) -> Any:
    """The extraction service's TemplateService (served on the extraction channel)."""
    return clients.templates


class TemplatesController(Controller):
    path = "/v1/templates"
    tags = ["templates"]

    @post("/", status_code=201, summary="Create a template (version 1)")
    async def create_template(
        self, data: CreateTemplateBody, principal: Principal, clients: Clients
    ) -> dict[str, Any]:
        principal.require("templates:write")
        response = await call(
            templates_stub(clients).CreateTemplate,
            extraction_pb2.CreateTemplateRequest(
                workspace_id=principal.workspace_id,
                name=data.name,
                description=data.description,
                variables=[variable_message(v) for v in data.variables],
                created_by=principal.service_account_id,
            ),
        )
        return template_object(response.template)

    @get("/", summary="List templates, newest first")
    async def list_templates(
        self, principal: Principal, clients: Clients, limit: Limit = 20, cursor: str | None = None
    ) -> dict[str, Any]:
        principal.require("templates:read")
        response = await call(
            templates_stub(clients).ListTemplates,
            extraction_pb2.ListTemplatesRequest(
                workspace_id=principal.workspace_id, limit=limit, cursor=cursor or ""
            ),
        )
        return page([template_object(t) for t in response.templates], response.next_cursor)

    @get("/{template_id:str}", summary="Read a template: its current version, or ?version=N")
    async def get_template(
        self,
        template_id: str,
        principal: Principal,
        clients: Clients,
        version: Annotated[int | None, Parameter(ge=1, le=2**31 - 1, description="a past version")] = None,
    ) -> dict[str, Any]:
        principal.require("templates:read")
        response = await call(
            templates_stub(clients).GetTemplate,
            extraction_pb2.GetTemplateRequest(
                workspace_id=principal.workspace_id, template_id=template_id, version=version or 0
            ),
        )
        return template_object(response.template)

    @patch("/{template_id:str}", summary="Change the name, description or variables (a new version)")
    async def update_template(
        self, template_id: str, data: UpdateTemplateBody, principal: Principal, clients: Clients
    ) -> dict[str, Any]:
        principal.require("templates:write")
        variables = (
            extraction_pb2.VariableList(values=[variable_message(v) for v in data.variables])
            if data.variables is not None
            else None
        )
        response = await call(
            templates_stub(clients).UpdateTemplate,
            extraction_pb2.UpdateTemplateRequest(
                workspace_id=principal.workspace_id,
                template_id=template_id,
                name=data.name,
                description=data.description,
                variables=variables,
            ),
        )
        return template_object(response.template)

    @delete("/{template_id:str}", status_code=204, summary="Delete a template (extractions keep their copy)")
    async def delete_template(self, template_id: str, principal: Principal, clients: Clients) -> None:
        principal.require("templates:write")
        await call(
            templates_stub(clients).DeleteTemplate,
            extraction_pb2.DeleteTemplateRequest(
                workspace_id=principal.workspace_id, template_id=template_id
            ),
        )
