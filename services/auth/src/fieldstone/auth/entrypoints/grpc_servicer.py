"""gRPC AuthService: wire messages in, handlers called, wire messages out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fieldstone.auth.domain.model import ApiKeyRecord
from fieldstone.auth.service_layer import handlers
from fieldstone.grpc.convert import from_timestamp, page_of, to_timestamp
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
        rotated_from=record.rotated_from or "",
    )


def service_account_message(row: Any) -> auth_pb2.ServiceAccount:
    return auth_pb2.ServiceAccount(
        id=row["id"],
        workspace_id=row["workspace_id"],
        name=row["name"],
        description=row["description"],
        created_at=to_timestamp(row["created_at"]),
        updated_at=to_timestamp(row["updated_at"]),
    )


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):  # type: ignore[misc]
    def __init__(self, uow_factory: Any, overlap_seconds: int = 86_400) -> None:
        self._uow = uow_factory
        self._overlap_seconds = overlap_seconds

    async def CreateWorkspace(self, request: Any, context: Any) -> auth_pb2.CreateWorkspaceResponse:
        row = await handlers.create_workspace(self._uow(), request.name, request.plan or "free")
        return auth_pb2.CreateWorkspaceResponse(
            workspace=auth_pb2.Workspace(
                id=row["id"], name=row["name"], plan=row["plan"], created_at=to_timestamp(row["created_at"])
            )
        )

    async def CreateServiceAccount(self, request: Any, context: Any) -> auth_pb2.CreateServiceAccountResponse:
        row = await handlers.create_service_account(
            self._uow(), request.workspace_id, request.name, request.description
        )
        return auth_pb2.CreateServiceAccountResponse(service_account=service_account_message(row))

    async def ListServiceAccounts(self, request: Any, context: Any) -> auth_pb2.ListServiceAccountsResponse:
        limit = request.limit or 20
        rows = await handlers.list_service_accounts(
            self._uow(), request.workspace_id, limit + 1, request.cursor or None
        )
        page, next_cursor = page_of(rows, limit, lambda r: r["id"])
        return auth_pb2.ListServiceAccountsResponse(
            service_accounts=[service_account_message(r) for r in page], next_cursor=next_cursor
        )

    async def GetServiceAccount(self, request: Any, context: Any) -> auth_pb2.GetServiceAccountResponse:
        row = await handlers.get_service_account(
            self._uow(), request.workspace_id, request.service_account_id
        )
        return auth_pb2.GetServiceAccountResponse(service_account=service_account_message(row))

    async def UpdateServiceAccount(self, request: Any, context: Any) -> auth_pb2.UpdateServiceAccountResponse:
        row = await handlers.update_service_account(
            self._uow(),
            request.workspace_id,
            request.service_account_id,
            request.name if request.HasField("name") else None,
            request.description if request.HasField("description") else None,
        )
        return auth_pb2.UpdateServiceAccountResponse(service_account=service_account_message(row))

    async def DeleteServiceAccount(self, request: Any, context: Any) -> auth_pb2.DeleteServiceAccountResponse:
        await handlers.delete_service_account(self._uow(), request.workspace_id, request.service_account_id)
        return auth_pb2.DeleteServiceAccountResponse()

    async def GetApiKey(self, request: Any, context: Any) -> auth_pb2.GetApiKeyResponse:
        record = await handlers.get_api_key(self._uow(), request.workspace_id, request.api_key_id)
        return auth_pb2.GetApiKeyResponse(api_key=api_key_message(record))

    async def RotateApiKey(self, request: Any, context: Any) -> auth_pb2.RotateApiKeyResponse:
        overlap = (
            timedelta(seconds=request.overlap_seconds)
            if request.HasField("overlap_seconds")
            else timedelta(seconds=self._overlap_seconds)
        )
        new, key, old = await handlers.rotate_api_key(
            self._uow(), request.workspace_id, request.api_key_id, overlap
        )
        return auth_pb2.RotateApiKeyResponse(
            api_key=api_key_message(new), key=key, previous=api_key_message(old)
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
        limit = request.limit or 1000
        records = await handlers.list_api_keys(
            self._uow(),
            request.workspace_id,
            limit=limit + 1,
            cursor=request.cursor or None,
            service_account_id=request.service_account_id or None,
            include_revoked=request.include_revoked,
        )
        page, next_cursor = page_of(records, limit)
        return auth_pb2.ListApiKeysResponse(
            api_keys=[api_key_message(r) for r in page], next_cursor=next_cursor
        )

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
                valid_until=to_timestamp(p.valid_until),
            )
        )
