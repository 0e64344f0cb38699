"""Composition root of the usage service."""

from __future__ import annotations

from pathlib import Path

from fieldstone.messaging import Topics
from fieldstone.proto.usage.v1 import usage_pb2_grpc
from fieldstone.service import Runtime
from fieldstone.usage.config import UsageSettings
from fieldstone.usage.entrypoints.event_handlers import UsageEventHandlers
from fieldstone.usage.entrypoints.grpc_servicer import UsageServicer
from fieldstone.usage.service_layer.unit_of_work import UsageUnitOfWork

MIGRATIONS = Path(__file__).parent / "migrations"


async def build(runtime: Runtime) -> None:
    settings = runtime.settings
    if not isinstance(settings, UsageSettings):
        raise TypeError("the usage service needs UsageSettings")
    catalog = settings.plan_catalog()

    def uow() -> UsageUnitOfWork:
        return UsageUnitOfWork(runtime.pool)

    servicer = UsageServicer(uow, catalog)
    runtime.grpc.add(
        usage_pb2_grpc.add_UsageServiceServicer_to_server, servicer, "fieldstone.usage.v1.UsageService"
    )
    events = UsageEventHandlers(uow, catalog)
    runtime.consume("extractions", (Topics.EXTRACTIONS,), events.on_extraction_event)
    runtime.consume("workspaces", (Topics.AUTH,), events.on_auth_event)
