"""Where the per-file plan limits come from: the usage service, which defines every plan
(`UsagePlanLimits`), or the configured defaults when no usage service is configured."""

from __future__ import annotations

import grpc

from fieldstone.common.errors import FieldstoneError
from fieldstone.common.logging import get_logger
from fieldstone.files.domain.model import Limits
from fieldstone.grpc import call
from fieldstone.proto.usage.v1 import usage_pb2, usage_pb2_grpc

log = get_logger(__name__)


class ConfiguredPlanLimits:
    def __init__(self, max_file_bytes: int, max_pages: int) -> None:
        self._limits = Limits(max_file_bytes=max_file_bytes, max_pages=max_pages)

    async def for_workspace(self, workspace_id: str) -> Limits:
        return self._limits


class UsagePlanLimits:
    """The limits of the workspace's current plan, from `UsageService.GetPlanLimits`.

    A plan change therefore applies to the next upload. If usage cannot be reached, the
    configured defaults apply, so uploads keep working while usage is down.
    """

    def __init__(self, channel: grpc.aio.Channel, fallback: ConfiguredPlanLimits) -> None:
        self._stub = usage_pb2_grpc.UsageServiceStub(channel)
        self._fallback = fallback

    async def for_workspace(self, workspace_id: str) -> Limits:
        try:
            r = await call(
                self._stub.GetPlanLimits,
                usage_pb2.GetPlanLimitsRequest(workspace_id=workspace_id),
                deadline_seconds=2.0,
            )
        except FieldstoneError as exc:
            log.warning("plan limits unavailable; using the defaults", code=exc.code)
            return await self._fallback.for_workspace(workspace_id)
        return Limits(max_file_bytes=int(r.max_file_bytes), max_pages=int(r.max_pages))
