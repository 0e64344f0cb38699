"""gRPC WebhookService: wire messages in, handlers called, wire messages out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fieldstone.grpc.convert import to_timestamp
from fieldstone.proto.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from fieldstone.webhooks.adapters.secret_box import SecretBox
from fieldstone.webhooks.config import WebhooksSettings
from fieldstone.webhooks.domain.model import Delivery, Endpoint, WebhookEvent, render_body
from fieldstone.webhooks.service_layer import handlers
from fieldstone.webhooks.service_layer.unit_of_work import WebhooksUnitOfWork


def endpoint_message(endpoint: Endpoint) -> webhooks_pb2.Endpoint:
    return webhooks_pb2.Endpoint(
        id=endpoint.id,
        workspace_id=endpoint.workspace_id,
        url=endpoint.url,
        event_types=endpoint.event_types,
        description=endpoint.description,
        enabled=endpoint.enabled,
        created_at=to_timestamp(endpoint.created_at),
        created_by=endpoint.created_by,
    )


def delivery_message(delivery: Delivery) -> webhooks_pb2.Delivery:
    return webhooks_pb2.Delivery(
        id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        status=delivery.status,
        next_attempt_at=to_timestamp(delivery.next_attempt_at),
        attempts=[
            webhooks_pb2.Attempt(
                number=a.number,
                status_code=a.status_code or 0,
                duration_ms=a.duration_ms,
                response_excerpt=a.response_excerpt,
                error=a.error or "",
                attempted_at=to_timestamp(a.attempted_at),
            )
            for a in delivery.attempts
        ],
    )


def event_message(event: WebhookEvent) -> webhooks_pb2.WebhookEvent:
    return webhooks_pb2.WebhookEvent(
        id=event.id,
        workspace_id=event.workspace_id,
        type=event.type,
        payload_json=render_body(event.payload).decode(),
        deliveries=[delivery_message(d) for d in event.deliveries],
        created_at=to_timestamp(event.created_at),
    )


class WebhooksServicer(webhooks_pb2_grpc.WebhookServiceServicer):  # type: ignore[misc]
    def __init__(
        self, uow_factory: Callable[[], WebhooksUnitOfWork], box: SecretBox, settings: WebhooksSettings
    ) -> None:
        self._uow = uow_factory
        self._box = box
        self._settings = settings

    async def CreateEndpoint(self, request: Any, context: Any) -> webhooks_pb2.CreateEndpointResponse:
        endpoint, secret = await handlers.create_endpoint(
            self._uow(),
            self._box,
            workspace_id=request.workspace_id,
            url=request.url,
            event_types=list(request.event_types),
            description=request.description,
            created_by=request.created_by,
            allow_insecure_http=self._settings.allow_insecure_http,
            allowed_networks=self._settings.allowed_cidrs,
        )
        return webhooks_pb2.CreateEndpointResponse(endpoint=endpoint_message(endpoint), secret=secret)

    async def ListEndpoints(self, request: Any, context: Any) -> webhooks_pb2.ListEndpointsResponse:
        endpoints = await handlers.list_endpoints(self._uow(), request.workspace_id)
        return webhooks_pb2.ListEndpointsResponse(endpoints=[endpoint_message(e) for e in endpoints])

    async def ListEvents(self, request: Any, context: Any) -> webhooks_pb2.ListEventsResponse:
        events, next_cursor = await handlers.list_events(
            self._uow(), request.workspace_id, request.limit, request.cursor
        )
        return webhooks_pb2.ListEventsResponse(
            events=[event_message(e) for e in events], next_cursor=next_cursor or ""
        )

    async def GetEvent(self, request: Any, context: Any) -> webhooks_pb2.GetEventResponse:
        event = await handlers.get_event(self._uow(), request.workspace_id, request.event_id)
        return webhooks_pb2.GetEventResponse(event=event_message(event))
