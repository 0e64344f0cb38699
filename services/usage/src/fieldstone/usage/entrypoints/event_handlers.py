"""Kafka handlers: CloudEvents in, handlers called. Records of other types are ignored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from google.protobuf.message import DecodeError

from fieldstone.common.logging import get_logger
from fieldstone.common.time import utcnow
from fieldstone.messaging import InboundMessage
from fieldstone.proto.events.v1 import events_pb2
from fieldstone.usage.domain.model import Outcome
from fieldstone.usage.domain.plans import PlanCatalog
from fieldstone.usage.service_layer import handlers, plans
from fieldstone.usage.service_layer.unit_of_work import AbstractUsageUnitOfWork

log = get_logger(__name__)

OUTCOMES = {
    "fieldstone.extraction.completed.v1": Outcome.CONSUMED,
    "fieldstone.extraction.failed.v1": Outcome.RELEASED,
    "fieldstone.extraction.canceled.v1": Outcome.RELEASED,
}
WORKSPACE_CREATED = "fieldstone.workspace.created.v1"


class UsageEventHandlers:
    def __init__(
        self,
        uow_factory: Callable[[], AbstractUsageUnitOfWork],
        catalog: PlanCatalog,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow_factory
        self._plans = catalog
        self._clock = clock

    async def on_extraction_event(self, message: InboundMessage) -> None:
        event = message.event
        if event is None or event.type not in OUTCOMES:
            return
        try:
            payload = events_pb2.ExtractionStatusChanged.FromString(event.data)
        except DecodeError:
            # Retrying cannot make it readable, and it would block the partition for good.
            log.error("unreadable extraction event skipped", ce_id=event.id, ce_type=event.type)
            return
        if not payload.extraction_id:
            log.warning("extraction event without extraction id skipped", ce_id=event.id)
            return
        await handlers.settle_reservation(
            self._uow(),
            self._plans,
            event_id=event.id,
            reservation_id=payload.extraction_id,
            outcome=OUTCOMES[event.type],
            now=self._clock(),
        )

    async def on_auth_event(self, message: InboundMessage) -> None:
        event = message.event
        if event is None or event.type != WORKSPACE_CREATED:
            return
        try:
            payload = events_pb2.WorkspaceCreated.FromString(event.data)
        except DecodeError:
            log.error("unreadable workspace event skipped", ce_id=event.id)
            return
        if not payload.workspace_id:
            log.warning("workspace event without workspace id skipped", ce_id=event.id)
            return
        if payload.plan not in self._plans.limits:
            log.warning("workspace has a plan without limits here; the default applies", plan=payload.plan)
        await plans.assign_initial_plan(
            self._uow(), event_id=event.id, workspace_id=payload.workspace_id, plan=payload.plan
        )
