"""Use cases of workspace plans: which plan a workspace has, and what it allows."""

from __future__ import annotations

from datetime import datetime

from fieldstone.common.errors import ValidationFailed
from fieldstone.common.time import period_key, utcnow
from fieldstone.usage.domain.model import PlanChange
from fieldstone.usage.domain.plans import PlanCatalog, PlanLimits
from fieldstone.usage.service_layer import events
from fieldstone.usage.service_layer.handlers import WORKSPACES_CONSUMER
from fieldstone.usage.service_layer.unit_of_work import AbstractUsageUnitOfWork


async def change_plan(
    uow: AbstractUsageUnitOfWork,
    plans: PlanCatalog,
    *,
    workspace_id: str,
    plan: str,
    now: datetime | None = None,
) -> PlanChange:
    """Move a workspace to `plan`, in effect for every call that starts after the commit.

    The period's usage carries over; thresholds already reached under the new limit are
    announced at once. The plan is stored even when unchanged, so a late
    `workspace.created` event can no longer override it.
    """
    if not workspace_id:
        raise ValidationFailed("workspace_id is required")
    if plan not in plans.limits:
        raise ValidationFailed(f"plan must be one of {', '.join(plans.limits)}, not {plan!r}")
    at = now or utcnow()
    async with uow:
        previous = plans.resolve(await uow.repo.plan_of(workspace_id, for_update=True))
        await uow.repo.set_plan(workspace_id, plan)
        change = PlanChange(workspace_id, plan, previous)
        if change.changed:
            await events.plan_changed(uow, workspace_id, plan=plan, previous_plan=previous, at=at)
            usage = await uow.repo.get_period(workspace_id, period_key(at))
            await events.thresholds_reached(uow, usage, plan=plan, limit=plans.extraction_limit(plan), at=at)
        await uow.commit()
    return change


async def get_plan_limits(
    uow: AbstractUsageUnitOfWork, plans: PlanCatalog, workspace_id: str
) -> tuple[str, PlanLimits]:
    if not workspace_id:
        raise ValidationFailed("workspace_id is required")
    async with uow:
        plan = plans.resolve(await uow.repo.plan_of(workspace_id))
    return plan, plans.limits_of(plan)


async def assign_initial_plan(
    uow: AbstractUsageUnitOfWork, *, event_id: str, workspace_id: str, plan: str
) -> bool:
    """Remember the plan a workspace was created with (as auth names it), unless it already has one.

    False for a redelivered event. A plan set here before the event arrived wins.
    """
    async with uow:
        if not await uow.claim(WORKSPACES_CONSUMER, event_id):
            return False
        await uow.repo.set_initial_plan(workspace_id, plan)
        await uow.commit()
    return True
