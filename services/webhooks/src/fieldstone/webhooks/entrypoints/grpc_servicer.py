"""gRPC WebhookService: wire messages in, handlers called, wire messages out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fieldstone.grpc.convert import to_timestamp
from fieldstone.proto.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from fieldstone.webhooks.adapters.secret_box import SecretBox
from fieldstone.webhooks.config import WebhooksSettings
from fieldstone.webhooks.domain.model import (
    Endpoint,
    EndpointChanges,
    WebhookEvent,
    render_body,
    validate_event_filter,
)
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
        updated_at=to_timestamp(endpoint.updated_at),
        disabled_reason=endpoint.disabled_reason or "",
        disabled_at=to_timestamp(endpoint.disabled_at),
        secret_rotated_at=to_timestamp(endpoint.secret_rotated_at),
        previous_secret_expires_at=to_timestamp(endpoint.previous_secret_expires_at),
    )


def event_message(event: WebhookEvent) -> webhooks_pb2.WebhookEvent:
    return webhooks_pb2.WebhookEvent(
        id=event.id,
        workspace_id=event.workspace_id,
        endpoint_id=event.endpoint_id,
        type=event.type,
        payload_json=render_body(event.payload).decode(),
        status=event.status,
        attempt_count=event.attempt_count,
        next_attempt_at=to_timestamp(event.next_attempt_at),
        last_attempt_at=to_timestamp(event.last_attempt_at),
        created_at=to_timestamp(event.created_at),
        attempts=[
            webhooks_pb2.Attempt(
                number=a.number,
                trigger=a.trigger,
                outcome=a.outcome,
                status_code=a.status_code or 0,
                duration_ms=a.duration_ms or 0,
                response_body=a.response_body,
                error=a.error or "",
                attempted_at=to_timestamp(a.attempted_at),
            )
            for a in event.attempts
        ],
    )


class WebhooksServicer(webhooks_pb2_grpc.WebhookServiceServicer):  # type: ignore[misc]
    def __init__(
        self, uow_factory: Callable[[], WebhooksUnitOfWork], box: SecretBox, settings: WebhooksSettings
    ) -> None:
        self._uow = uow_factory
        self._box = box
        self._settings = settings
        self._policy = handlers.UrlPolicy(settings.allow_insecure_http, settings.allowed_cidrs)

    async def CreateEndpoint(self, request: Any, context: Any) -> webhooks_pb2.CreateEndpointResponse:
        endpoint, secret = await handlers.create_endpoint(
            self._uow(),
            self._box,
            workspace_id=request.workspace_id,
            url=request.url,
            event_types=list(request.event_types),
            description=request.description,
            created_by=request.created_by,
            policy=self._policy,
        )
        return webhooks_pb2.CreateEndpointResponse(endpoint=endpoint_message(endpoint), secret=secret)

    async def ListEndpoints(self, request: Any, context: Any) -> webhooks_pb2.ListEndpointsResponse:
        endpoints = await handlers.list_endpoints(self._uow(), request.workspace_id)
        return webhooks_pb2.ListEndpointsResponse(endpoints=[endpoint_message(e) for e in endpoints])

    async def GetEndpoint(self, request: Any, context: Any) -> webhooks_pb2.GetEndpointResponse:
        endpoint = await handlers.get_endpoint(self._uow(), request.workspace_id, request.endpoint_id)
        return webhooks_pb2.GetEndpointResponse(endpoint=endpoint_message(endpoint))

    async def UpdateEndpoint(self, request: Any, context: Any) -> webhooks_pb2.UpdateEndpointResponse:
        changes = EndpointChanges(
            url=request.url if request.HasField("url") else None,
            enabled=request.enabled if request.HasField("enabled") else None,
            event_types=list(request.event_types.values) if request.HasField("event_types") else None,
            description=request.description if request.HasField("description") else None,
        )
        endpoint = await handlers.update_endpoint(
            self._uow(),
            workspace_id=request.workspace_id,
            endpoint_id=request.endpoint_id,
            changes=changes,
            policy=self._policy,
        )
        return webhooks_pb2.UpdateEndpointResponse(endpoint=endpoint_message(endpoint))

    async def DeleteEndpoint(self, request: Any, context: Any) -> webhooks_pb2.DeleteEndpointResponse:
        await handlers.delete_endpoint(
            self._uow(), workspace_id=request.workspace_id, endpoint_id=request.endpoint_id
        )
        return webhooks_pb2.DeleteEndpointResponse()

    async def RotateEndpointSecret(
        self, request: Any, context: Any
    ) -> webhooks_pb2.RotateEndpointSecretResponse:
        endpoint, secret = await handlers.rotate_secret(
            self._uow(),
            self._box,
            workspace_id=request.workspace_id,
            endpoint_id=request.endpoint_id,
            overlap_seconds=self._settings.rotation_overlap_seconds,
        )
        return webhooks_pb2.RotateEndpointSecretResponse(endpoint=endpoint_message(endpoint), secret=secret)

    async def ListEvents(self, request: Any, context: Any) -> webhooks_pb2.ListEventsResponse:
        flt = validate_event_filter(request.endpoint_id, request.type, request.status)
        events, next_cursor = await handlers.list_events(
            self._uow(), request.workspace_id, request.limit, request.cursor, flt
        )
        return webhooks_pb2.ListEventsResponse(
            events=[event_message(e) for e in events], next_cursor=next_cursor or ""
        )

    async def GetEvent(self, request: Any, context: Any) -> webhooks_pb2.GetEventResponse:
        event = await handlers.get_event(self._uow(), request.workspace_id, request.event_id)
        return webhooks_pb2.GetEventResponse(event=event_message(event))

    async def ReplayEvent(self, request: Any, context: Any) -> webhooks_pb2.ReplayEventResponse:
        event = await handlers.replay_event(self._uow(), request.workspace_id, request.event_id)
        return webhooks_pb2.ReplayEventResponse(event=event_message(event))
