"""What usage publishes on fieldstone.usage.v1: always into the outbox of the caller's unit of work."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.message import Message

from fieldstone.grpc.convert import to_timestamp
from fieldstone.messaging import Topics
from fieldstone.proto.events.v1 import events_pb2
from fieldstone.usage.domain.model import Outcome, PeriodUsage
from fieldstone.usage.domain.periods import BillingPeriod
from fieldstone.usage.service_layer.unit_of_work import AbstractUsageUnitOfWork

SOURCE = "/fieldstone/usage"
USAGE_RECORDED = "fieldstone.usage.recorded.v1"
THRESHOLD_REACHED = "fieldstone.usage.threshold_reached.v1"
PLAN_CHANGED = "fieldstone.workspace_plan.changed.v1"


async def _publish(uow: AbstractUsageUnitOfWork, ce_type: str, workspace_id: str, message: Message) -> None:
    await uow.publish(
        topic=Topics.USAGE,
        key=workspace_id,
        ce_type=ce_type,
        source=SOURCE,
        subject=workspace_id,
        message=message,
    )


async def usage_recorded(
    uow: AbstractUsageUnitOfWork,
    usage: PeriodUsage,
    *,
    extraction_id: str,
    outcome: Outcome,
    limit: int,
    at: datetime,
) -> None:
    message = events_pb2.UsageRecorded(
        workspace_id=usage.workspace_id,
        extraction_id=extraction_id,
        period_key=usage.period_key,
        outcome=outcome.value,
        usage=usage.used,
        limit=limit,
        occurred_at=to_timestamp(at),
    )
    await _publish(uow, USAGE_RECORDED, usage.workspace_id, message)


async def thresholds_reached(
    uow: AbstractUsageUnitOfWork, usage: PeriodUsage, *, plan: str, limit: int, at: datetime
) -> list[int]:
    """Announce each threshold `usage` has reached for the first time at this limit; returns them."""
    announced = []
    for percent in usage.thresholds_reached(limit):
        if not await uow.repo.mark_threshold(usage.workspace_id, usage.period_key, percent, limit):
            continue
        message = events_pb2.UsageThresholdReached(
            workspace_id=usage.workspace_id,
            period_key=usage.period_key,
            plan=plan,
            threshold_percent=percent,
            usage=usage.used,
            limit=limit,
            resets_at=to_timestamp(BillingPeriod.of_key(usage.period_key).ends_at),
            occurred_at=to_timestamp(at),
        )
        await _publish(uow, THRESHOLD_REACHED, usage.workspace_id, message)
        announced.append(percent)
    return announced


async def plan_changed(
    uow: AbstractUsageUnitOfWork, workspace_id: str, *, plan: str, previous_plan: str, at: datetime
) -> None:
    message = events_pb2.WorkspacePlanChanged(
        workspace_id=workspace_id, plan=plan, previous_plan=previous_plan, occurred_at=to_timestamp(at)
    )
    await _publish(uow, PLAN_CHANGED, workspace_id, message)
