"""gRPC AuthService: wire messages in, handlers called, wire messages out."""

from __future__ import annotations

from typing import Any

from fieldstone.auth.domain.model import ApiKeyRecord
from fieldstone.auth.service_layer import handlers
from fieldstone.grpc.convert import from_timestamp, to_timestamp
from fieldstone.proto.auth.v1 import auth_pb2, auth_pb2_grpc


def api_key_message(record: ApiKeyRecord) -> auth_pb2.ApiKey:
    return auth_pb2.ApiKey(
        id=record.id,
        workspace_id=record.workspace_id,
        service_account_id=record.service_account_id,
        name=record.name,
        prefix=record.prefix,
        scopes=record.scopes,
        expires_at=to_timestamp(record.expires_at),
        last_used_at=to_timestamp(record.last_used_at),
        revoked_at=to_timestamp(record.revoked_at),
        created_at=to_timestamp(record.created_at),
    )


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):  # type: ignore[misc]
    def __init__(self, uow_factory: Any) -> None:
        self._uow = uow_factory

    async def CreateWorkspace(self, request: Any, context: Any) -> auth_pb2.CreateWorkspaceResponse:
        row = await handlers.create_workspace(self._uow(), request.name, request.plan or "free")
        return auth_pb2.CreateWorkspaceResponse(
            workspace=auth_pb2.Workspace(
                id=row["id"], name=row["name"], plan=row["plan"], created_at=to_timestamp(row["created_at"])
            )
        )

    async def CreateServiceAccount(self, request: Any, context: Any) -> auth_pb2.CreateServiceAccountResponse:
        row = await handlers.create_service_account(self._uow(), request.workspace_id, request.name)
        return auth_pb2.CreateServiceAccountResponse(
            service_account=auth_pb2.ServiceAccount(
                id=row["id"],
                workspace_id=row["workspace_id"],
                name=row["name"],
                created_at=to_timestamp(row["created_at"]),
            )
        )

    async def CreateApiKey(self, request: Any, context: Any) -> auth_pb2.CreateApiKeyResponse:
        record, key = await handlers.create_api_key(
            self._uow(),
            workspace_id=request.workspace_id,
            service_account_id=request.service_account_id,
            name=request.name,
            scopes=list(request.scopes),
            expires_at=from_timestamp(request, "expires_at"),
        )
        return auth_pb2.CreateApiKeyResponse(api_key=api_key_message(record), key=key)

    async def ListApiKeys(self, request: Any, context: Any) -> auth_pb2.ListApiKeysResponse:
        records = await handlers.list_api_keys(self._uow(), request.workspace_id)
        return auth_pb2.ListApiKeysResponse(api_keys=[api_key_message(r) for r in records])

    async def RevokeApiKey(self, request: Any, context: Any) -> auth_pb2.RevokeApiKeyResponse:
        record = await handlers.revoke_api_key(self._uow(), request.workspace_id, request.api_key_id)
        return auth_pb2.RevokeApiKeyResponse(api_key=api_key_message(record))

    async def VerifyApiKey(self, request: Any, context: Any) -> auth_pb2.VerifyApiKeyResponse:
        p = await handlers.verify_api_key(self._uow(), request.key)
        return auth_pb2.VerifyApiKeyResponse(
            principal=auth_pb2.Principal(
                workspace_id=p.workspace_id,
                service_account_id=p.service_account_id,
                api_key_id=p.api_key_id,
                scopes=p.scopes,
                plan=p.plan,
            )
        )
