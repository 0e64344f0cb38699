"""gRPC UsageService: wire messages in, handlers called, wire messages out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fieldstone.proto.usage.v1 import usage_pb2, usage_pb2_grpc
from fieldstone.usage.domain.model import PlanCatalog
from fieldstone.usage.service_layer import handlers
from fieldstone.usage.service_layer.unit_of_work import AbstractUsageUnitOfWork


class UsageServicer(usage_pb2_grpc.UsageServiceServicer):  # type: ignore[misc]
    def __init__(self, uow_factory: Callable[[], AbstractUsageUnitOfWork], plans: PlanCatalog) -> None:
        self._uow = uow_factory
        self._plans = plans

    async def Reserve(self, request: Any, context: Any) -> usage_pb2.ReserveResponse:
        summary = await handlers.reserve(
            self._uow(), self._plans, workspace_id=request.workspace_id, reservation_id=request.reservation_id
        )
        # `usage` here counts what is held against the limit, this reservation included.
        return usage_pb2.ReserveResponse(
            period_key=summary.period_key, usage=summary.counted, limit=summary.limit
        )

    async def GetUsage(self, request: Any, context: Any) -> usage_pb2.GetUsageResponse:
        summary = await handlers.get_usage(self._uow(), self._plans, request.workspace_id)
        return usage_pb2.GetUsageResponse(
            plan=summary.plan,
            usage=summary.used,
            limit=summary.limit,
            period_key=summary.period_key,
            reserved=summary.reserved,
        )
