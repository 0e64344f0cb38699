"""Use cases of the usage service. Each runs in one unit of work; events go to the outbox."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from fieldstone.common.errors import Conflict, ValidationFailed
from fieldstone.common.time import period_key, utcnow
from fieldstone.messaging import Topics
from fieldstone.proto.events.v1 import events_pb2
from fieldstone.usage.domain.model import Outcome, PeriodUsage, PlanCatalog, Reservation, UsageSummary
from fieldstone.usage.service_layer.unit_of_work import AbstractUsageUnitOfWork

SOURCE = "/fieldstone/usage"
USAGE_RECORDED = "fieldstone.usage.recorded.v1"
# Inbox consumer names: one per stream, so an event id is claimed once per purpose.
EXTRACTIONS_CONSUMER = "usage.extractions"
WORKSPACES_CONSUMER = "usage.workspaces"


def _ts(moment: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(moment)
    return ts


async def reserve(
    uow: AbstractUsageUnitOfWork,
    plans: PlanCatalog,
    *,
    workspace_id: str,
    reservation_id: str,
    now: datetime | None = None,
) -> UsageSummary:
    """Hold one unit of the current period for `reservation_id`; a repeat answers without counting again."""
    if not workspace_id or not reservation_id:
        raise ValidationFailed("workspace_id and reservation_id are required")
    period = period_key(now or utcnow())
    async with uow:
        # Locking the period row first serialises every reservation of the workspace, so the
        # check below sees all committed ones, including an earlier call with the same id.
        usage = await uow.repo.lock_period(workspace_id, period)
        plan = plans.resolve(await uow.repo.plan_of(workspace_id))
        limit = plans.extraction_limit(plan)
        existing = await uow.repo.get_reservation(reservation_id)
        if existing is not None:
            if existing.workspace_id != workspace_id:
                raise Conflict(f"reservation {reservation_id} belongs to another workspace")
            if existing.period_key != period:
                usage = await uow.repo.get_period(workspace_id, existing.period_key)
            return UsageSummary.of(plan, usage, limit)
        usage.reserve(limit)
        if not await uow.repo.add_reservation(Reservation(reservation_id, workspace_id, period)):
            # Only reachable when a same-id call raced across a period boundary (other row locked).
            raise Conflict(f"reservation {reservation_id} is being created concurrently; retry")
        await uow.repo.save_period(usage)
        await uow.commit()
    return UsageSummary.of(plan, usage, limit)


async def get_usage(
    uow: AbstractUsageUnitOfWork, plans: PlanCatalog, workspace_id: str, *, now: datetime | None = None
) -> UsageSummary:
    if not workspace_id:
        raise ValidationFailed("workspace_id is required")
    async with uow:
        plan = plans.resolve(await uow.repo.plan_of(workspace_id))
        usage = await uow.repo.get_period(workspace_id, period_key(now or utcnow()))
    return UsageSummary.of(plan, usage, plans.extraction_limit(plan))


async def settle_reservation(
    uow: AbstractUsageUnitOfWork,
    plans: PlanCatalog,
    *,
    event_id: str,
    reservation_id: str,
    outcome: Outcome,
    now: datetime | None = None,
) -> PeriodUsage | None:
    """Consume or release a reservation once per event; returns the new counters, or None if nothing moved."""
    at = now or utcnow()
    async with uow:
        if not await uow.claim(EXTRACTIONS_CONSUMER, event_id):
            return None  # a redelivery: its effect is already committed
        reservation = await uow.repo.get_reservation(reservation_id, for_update=True)
        if reservation is None or not reservation.is_open:
            # Unknown or already settled (e.g. canceled after completing): keep only the claim.
            await uow.commit()
            return None
        usage = await uow.repo.lock_period(reservation.workspace_id, reservation.period_key)
        usage.settle(outcome)
        reservation.settle(outcome, at)
        await uow.repo.save_period(usage)
        await uow.repo.save_reservation(reservation)
        limit = plans.extraction_limit(await uow.repo.plan_of(reservation.workspace_id))
        await uow.publish(
            topic=Topics.USAGE,
            key=reservation.workspace_id,
            ce_type=USAGE_RECORDED,
            source=SOURCE,
            subject=reservation.workspace_id,
            message=events_pb2.UsageRecorded(
                workspace_id=reservation.workspace_id,
                extraction_id=reservation.reservation_id,
                period_key=reservation.period_key,
                outcome=outcome.value,
                usage=usage.used,
                limit=limit,
                occurred_at=_ts(at),
            ),
        )
        await uow.commit()
    return usage


async def assign_plan(uow: AbstractUsageUnitOfWork, *, event_id: str, workspace_id: str, plan: str) -> bool:
    """Remember a workspace's plan (as auth names it); False for a redelivered event."""
    async with uow:
        if not await uow.claim(WORKSPACES_CONSUMER, event_id):
            return False
        await uow.repo.set_plan(workspace_id, plan)
        await uow.commit()
    return True
