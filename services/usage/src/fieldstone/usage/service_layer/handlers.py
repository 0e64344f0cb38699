"""Use cases of the usage ledger. Each runs in one unit of work; events go to its outbox.

`now` is passed in by the entry points (from an injectable clock), so tests can move
across a period boundary.
"""

from __future__ import annotations

from datetime import datetime

from fieldstone.common.errors import Conflict, QuotaExceeded, ValidationFailed
from fieldstone.common.metrics import QUOTA_REJECTIONS
from fieldstone.common.time import period_key, utcnow
from fieldstone.usage.domain.model import Outcome, PeriodUsage, Reservation, UsageSummary
from fieldstone.usage.domain.plans import PlanCatalog
from fieldstone.usage.service_layer import events
from fieldstone.usage.service_layer.unit_of_work import AbstractUsageUnitOfWork

# Inbox consumer names: one per stream, so an event id is claimed once per purpose.
EXTRACTIONS_CONSUMER = "usage.extractions"
WORKSPACES_CONSUMER = "usage.workspaces"


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
    now = now or utcnow()
    period = period_key(now)
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
        try:
            usage.reserve(limit, plan=plan, now=now)
        except QuotaExceeded:
            QUOTA_REJECTIONS.labels(plan).inc()
            raise
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
    """Consume or release a reservation once per event; returns the new counters, or None if nothing moved.

    A consume that brings usage to 80 % or 100 % of the limit announces it in the same transaction.
    """
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
        plan = plans.resolve(await uow.repo.plan_of(reservation.workspace_id))
        limit = plans.extraction_limit(plan)
        await events.usage_recorded(
            uow, usage, extraction_id=reservation.reservation_id, outcome=outcome, limit=limit, at=at
        )
        if outcome is Outcome.CONSUMED:
            await events.thresholds_reached(uow, usage, plan=plan, limit=limit, at=at)
        await uow.commit()
    return usage
