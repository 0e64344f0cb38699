"""/v1/webhook-endpoints and /v1/webhook-events."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.params import Parameter

from fieldstone.gateway.clients import Clients
from fieldstone.gateway.presenters import endpoint_object, page, webhook_event_object
from fieldstone.gateway.schemas import CreateWebhookEndpointBody
from fieldstone.gateway.security import Principal
from fieldstone.grpc import call
from fieldstone.proto.webhooks.v1 import webhooks_pb2

Limit = Annotated[int, Parameter(ge=1, le=100, description="page size (1-100)")]


class WebhookEndpointsController(Controller):
    path = "/v1/webhook-endpoints"
    tags = ["webhooks"]

    @post("/", status_code=201, summary="Create an endpoint; the signing secret is shown once")
    async def create_endpoint(
        self, data: CreateWebhookEndpointBody, principal: Principal, clients: Clients
    ) -> dict[str, Any]:
        principal.require("webhooks:write")
        response = await call(
            clients.webhooks.CreateEndpoint,
            webhooks_pb2.CreateEndpointRequest(
                workspace_id=principal.workspace_id,
                url=data.url,
                event_types=data.events or [],
                description=data.description,
                created_by=principal.service_account_id,
            ),
        )
        return {**endpoint_object(response.endpoint), "secret": response.secret}

    @get("/", summary="List endpoints")
    async def list_endpoints(self, principal: Principal, clients: Clients) -> dict[str, Any]:
        principal.require("webhooks:read")
        response = await call(
            clients.webhooks.ListEndpoints,
            webhooks_pb2.ListEndpointsRequest(workspace_id=principal.workspace_id),
        )
        return page([endpoint_object(e) for e in response.endpoints], "")


class WebhookEventsController(Controller):
    path = "/v1/webhook-events"
    tags = ["webhooks"]

    @get("/", summary="List recent webhook events, newest first")
    async def list_events(
        self, principal: Principal, clients: Clients, limit: Limit = 20, cursor: str | None = None
    ) -> dict[str, Any]:
        principal.require("webhooks:read")
        response = await call(
            clients.webhooks.ListEvents,
            webhooks_pb2.ListEventsRequest(
                workspace_id=principal.workspace_id, limit=limit, cursor=cursor or ""
            ),
        )
        return page([webhook_event_object(e) for e in response.events], response.next_cursor)

    @get("/{event_id:str}", summary="A webhook event with its delivery attempts")
    async def get_event(self, event_id: str, principal: Principal, clients: Clients) -> dict[str, Any]:
        principal.require("webhooks:read")
        response = await call(
            clients.webhooks.GetEvent,
            webhooks_pb2.GetEventRequest(workspace_id=principal.workspace_id, event_id=event_id),
        )
        return webhook_event_object(response.event)
