"""fieldstone.webhooks.v1: an event is announced once it is delivered or has failed for good."""

from __future__ import annotations

from collections.abc import Sequence

from fieldstone.common.time import utcnow
from fieldstone.grpc.convert import to_timestamp
from fieldstone.messaging import Topics, publish
from fieldstone.proto.events.v1 import events_pb2
from fieldstone.webhooks.adapters.repository import FinishedEvent
from fieldstone.webhooks.domain import model
from fieldstone.webhooks.service_layer.unit_of_work import WebhooksUnitOfWork

SOURCE = "/fieldstone/webhooks"
CE_TYPES = {model.DELIVERED: "fieldstone.webhook.delivered.v1", model.FAILED: "fieldstone.webhook.failed.v1"}


async def publish_finished(uow: WebhooksUnitOfWork, events: Sequence[FinishedEvent]) -> None:
    """Write one outbox record per finished event, in the caller's transaction (keyed by endpoint)."""
    occurred_at = to_timestamp(utcnow())
    for event in events:
        await publish(
            uow.conn,
            topic=Topics.WEBHOOKS,
            key=event.endpoint_id,
            ce_type=CE_TYPES[event.status],
            source=SOURCE,
            subject=event.id,
            message=events_pb2.WebhookDeliveryChanged(
                event_id=event.id,
                workspace_id=event.workspace_id,
                endpoint_id=event.endpoint_id,
                status=event.status,
                attempts=event.attempt_count,
                occurred_at=occurred_at,
            ),
        )
