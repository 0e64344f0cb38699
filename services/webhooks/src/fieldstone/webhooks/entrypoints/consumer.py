"""Kafka handler for fieldstone.extractions.v1: finished extractions become webhook events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC

from google.protobuf.message import DecodeError

from fieldstone.common.logging import get_logger
from fieldstone.messaging import InboundMessage
from fieldstone.proto.events.v1 import events_pb2
from fieldstone.webhooks.domain import model
from fieldstone.webhooks.service_layer import handlers
from fieldstone.webhooks.service_layer.unit_of_work import WebhooksUnitOfWork

log = get_logger(__name__)


class ExtractionEventsHandler:
    def __init__(self, uow_factory: Callable[[], WebhooksUnitOfWork], public_api_url: str) -> None:
        self._uow = uow_factory
        self._public_api_url = public_api_url

    async def __call__(self, message: InboundMessage) -> None:
        event = message.event
        if event is None:
            return
        webhook_type = model.webhook_type_for(event.type)
        if webhook_type is None:
            return  # queued, processing, ...: not something webhooks announce
        try:
            changed = events_pb2.ExtractionStatusChanged.FromString(event.data)
        except DecodeError:
            # Retrying cannot fix a malformed payload; skipping it keeps the partition moving.
            log.error("malformed extraction event skipped", ce_id=event.id, ce_type=event.type)
            return
        outcome = model.ExtractionOutcome(
            extraction_id=changed.extraction_id,
            workspace_id=changed.workspace_id,
            file_id=changed.file_id,
            template_id=changed.template_id,
            status=changed.status or webhook_type.removeprefix("extraction."),
            error_code=changed.error_code,
            occurred_at=(
                changed.occurred_at.ToDatetime(tzinfo=UTC) if changed.HasField("occurred_at") else event.time
            ),
        )
        await handlers.record_extraction_outcome(
            self._uow(),
            source_event_id=event.id,
            webhook_type=webhook_type,
            outcome=outcome,
            public_api_url=self._public_api_url,
        )
