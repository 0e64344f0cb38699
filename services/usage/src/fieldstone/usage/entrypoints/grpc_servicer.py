"""gRPC UsageService: wire messages in, handlers called, wire messages out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fieldstone.common.time import utcnow
from fieldstone.grpc.convert import to_timestamp
from fieldstone.proto.usage.v1 import usage_pb2, usage_pb2_grpc
from fieldstone.usage.domain.model import Outcome
from fieldstone.usage.domain.plans import PlanCatalog
from fieldstone.usage.service_layer import handlers, plans
from fieldstone.usage.service_layer.unit_of_work import AbstractUsageUnitOfWork


class UsageServicer(usage_pb2_grpc.UsageServiceServicer):  # type: ignore[misc]
    def __init__(
        self,
        uow_factory: Callable[[], AbstractUsageUnitOfWork],
        catalog: PlanCatalog,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow_factory
        self._plans = catalog
        self._clock = clock

    async def Reserve(self, request: Any, context: Any) -> usage_pb2.ReserveResponse:
        summary = await handlers.reserve(
            self._uow(),
            self._plans,
            workspace_id=request.workspace_id,
            reservation_id=request.reservation_id,
            now=self._clock(),
        )
        # `usage` here counts what is held against the limit, this reservation included.
        return usage_pb2.ReserveResponse(
            period_key=summary.period_key, usage=summary.counted, limit=summary.limit
        )

    async def Release(self, request: Any, context: Any) -> usage_pb2.ReleaseResponse:
        moved = await handlers.settle_reservation(
            self._uow(),
            self._plans,
            event_id=f"release:{request.reservation_id}",
            reservation_id=request.reservation_id,
            outcome=Outcome.RELEASED,
            now=self._clock(),
        )
        return usage_pb2.ReleaseResponse(released=moved is not None)

    async def GetUsage(self, request: Any, context: Any) -> usage_pb2.GetUsageResponse:
        summary = await handlers.get_usage(self._uow(), self._plans, request.workspace_id, now=self._clock())
        return usage_pb2.GetUsageResponse(
            plan=summary.plan,
            usage=summary.used,
            limit=summary.limit,
            period_key=summary.period_key,
            reserved=summary.reserved,
            remaining=summary.remaining,
            resets_at=to_timestamp(summary.resets_at),
        )

    async def SetWorkspacePlan(self, request: Any, context: Any) -> usage_pb2.SetWorkspacePlanResponse:
        change = await plans.change_plan(
            self._uow(), self._plans, workspace_id=request.workspace_id, plan=request.plan, now=self._clock()
        )
        return usage_pb2.SetWorkspacePlanResponse(
            plan=change.plan, previous_plan=change.previous_plan, changed=change.changed
        )

    async def GetPlanLimits(self, request: Any, context: Any) -> usage_pb2.GetPlanLimitsResponse:
        plan, limits = await plans.get_plan_limits(self._uow(), self._plans, request.workspace_id)
        return usage_pb2.GetPlanLimitsResponse(
            plan=plan,
            extractions_per_period=limits.extractions_per_period,
            max_file_bytes=limits.max_file_bytes,
            max_pages=limits.max_pages,
            requests_per_minute=limits.requests_per_minute,
            batch_size=limits.batch_size,
        )
