"""Composition root of the auth service."""

from __future__ import annotations

from pathlib import Path

from fieldstone.auth.config import AuthSettings
from fieldstone.auth.entrypoints.grpc_servicer import AuthServicer
from fieldstone.auth.service_layer.unit_of_work import AuthUnitOfWork
from fieldstone.proto.auth.v1 import auth_pb2_grpc
from fieldstone.service import Runtime

MIGRATIONS = Path(__file__).parent / "migrations"


async def build(runtime: Runtime) -> None:
    settings = runtime.settings
    assert isinstance(settings, AuthSettings)
    servicer = AuthServicer(lambda: AuthUnitOfWork(runtime.pool), settings.rotation_overlap_seconds)
    runtime.grpc.add(
        auth_pb2_grpc.add_AuthServiceServicer_to_server, servicer, "fieldstone.auth.v1.AuthService"
    )
