"""/v1/usage."""

from __future__ import annotations

from typing import Any

from litestar import get

from fieldstone.common.time import iso
from fieldstone.gateway.clients import Clients
from fieldstone.gateway.security import Principal
from fieldstone.grpc import call
from fieldstone.grpc.convert import from_timestamp
from fieldstone.proto.usage.v1 import usage_pb2


@get("/v1/usage", tags=["usage"], summary="Plan, usage and limit of the current billing period")
async def get_usage(principal: Principal, clients: Clients) -> dict[str, Any]:
    """`usage` counts completed extractions; `reserved` those still running, which also count
    against `limit`; `remaining` is what may still start before `resetsAt` (UTC month end)."""
    principal.require("usage:read")
    r = await call(clients.usage.GetUsage, usage_pb2.GetUsageRequest(workspace_id=principal.workspace_id))
    return {
        "data": {
            "plan": r.plan,
            "usage": r.usage,
            "limit": r.limit,
            "periodKey": r.period_key,
            "reserved": r.reserved,
            "remaining": r.remaining,
            "resetsAt": iso(from_timestamp(r, "resets_at")),
        }
    }
