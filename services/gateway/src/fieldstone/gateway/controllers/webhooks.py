"""/v1/webhook-endpoints and /v1/webhook-events."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter

from fieldstone.common.errors import ValidationFailed
from fieldstone.gateway.clients import Clients
from fieldstone.gateway.presenters import endpoint_object, page, webhook_event_object
from fieldstone.gateway.schemas import CreateWebhookEndpointBody, UpdateWebhookEndpointBody
from fieldstone.gateway.security import Principal
from fieldstone.grpc import call
from fieldstone.proto.webhooks.v1 import webhooks_pb2

Limit = Annotated[int, Parameter(ge=1, le=100, description="page size (1-100)")]


def _enabled(data: UpdateWebhookEndpointBody) -> bool | None:
    """`status` ("enabled" | "disabled") and `active` (bool) are two spellings of one switch."""
    by_status = None if data.status is None else data.status == "enabled"
    if by_status is not None and data.active is not None and by_status != data.active:
        raise ValidationFailed("status and active disagree; send one of them")
    return by_status if by_status is not None else data.active


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

    @get("/{endpoint_id:str}", summary="Read an endpoint")
    async def get_endpoint(self, endpoint_id: str, principal: Principal, clients: Clients) -> dict[str, Any]:
        principal.require("webhooks:read")
        response = await call(
            clients.webhooks.GetEndpoint,
            webhooks_pb2.GetEndpointRequest(workspace_id=principal.workspace_id, endpoint_id=endpoint_id),
        )
        return endpoint_object(response.endpoint)

    @patch(
        "/{endpoint_id:str}",
        summary="Change the URL, the subscribed events, the description, or enable/disable",
    )
    async def update_endpoint(
        self, endpoint_id: str, data: UpdateWebhookEndpointBody, principal: Principal, clients: Clients
    ) -> dict[str, Any]:
        principal.require("webhooks:write")
        enabled = _enabled(data)
        response = await call(
            clients.webhooks.UpdateEndpoint,
            webhooks_pb2.UpdateEndpointRequest(
                workspace_id=principal.workspace_id,
                endpoint_id=endpoint_id,
                url=data.url,
                enabled=enabled,
                event_types=webhooks_pb2.EventTypes(values=data.events) if data.events is not None else None,
                description=data.description,
            ),
        )
        return endpoint_object(response.endpoint)

    @delete("/{endpoint_id:str}", status_code=204, summary="Delete an endpoint (its event log stays)")
    async def delete_endpoint(self, endpoint_id: str, principal: Principal, clients: Clients) -> None:
        principal.require("webhooks:write")
        await call(
            clients.webhooks.DeleteEndpoint,
            webhooks_pb2.DeleteEndpointRequest(workspace_id=principal.workspace_id, endpoint_id=endpoint_id),
        )

    @post(
        "/{endpoint_id:str}/rotate-secret",
        status_code=200,
        summary="Rotate the signing secret; the new one is shown once, the old one keeps signing for the overlap",
    )
    async def rotate_secret(self, endpoint_id: str, principal: Principal, clients: Clients) -> dict[str, Any]:
        principal.require("webhooks:write")
        response = await call(
            clients.webhooks.RotateEndpointSecret,
            webhooks_pb2.RotateEndpointSecretRequest(
                workspace_id=principal.workspace_id, endpoint_id=endpoint_id
            ),
        )
        return {**endpoint_object(response.endpoint), "secret": response.secret}


class WebhookEventsController(Controller):
    path = "/v1/webhook-events"
    tags = ["webhooks"]

    @get("/", summary="List webhook events, newest first")
    async def list_events(
        self,
        principal: Principal,
        clients: Clients,
        limit: Limit = 20,
        cursor: str | None = None,
        endpoint_id: Annotated[str | None, Parameter(query="endpointId")] = None,
        event_type: Annotated[str | None, Parameter(query="type")] = None,
        status: Annotated[str | None, Parameter(description="pending, delivered or failed")] = None,
    ) -> dict[str, Any]:
        principal.require("webhooks:read")
        response = await call(
            clients.webhooks.ListEvents,
            webhooks_pb2.ListEventsRequest(
                workspace_id=principal.workspace_id,
                limit=limit,
                cursor=cursor or "",
                endpoint_id=endpoint_id or "",
                type=event_type or "",
                status=status or "",
            ),
        )
        return page([webhook_event_object(e) for e in response.events], response.next_cursor)

    @get("/{event_id:str}", summary="A webhook event with every delivery attempt")
    async def get_event(self, event_id: str, principal: Principal, clients: Clients) -> dict[str, Any]:
        principal.require("webhooks:read")
        response = await call(
            clients.webhooks.GetEvent,
            webhooks_pb2.GetEventRequest(workspace_id=principal.workspace_id, event_id=event_id),
        )
        return webhook_event_object(response.event, attempts=True)

    @post(
        "/{event_id:str}/replay",
        status_code=202,
        summary="Send the event again now, with the same webhook-id and a fresh retry schedule",
    )
    async def replay_event(self, event_id: str, principal: Principal, clients: Clients) -> dict[str, Any]:
        principal.require("webhooks:write")
        response = await call(
            clients.webhooks.ReplayEvent,
            webhooks_pb2.ReplayEventRequest(workspace_id=principal.workspace_id, event_id=event_id),
        )
        return webhook_event_object(response.event, attempts=True)
