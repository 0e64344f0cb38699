"""/v1/service-accounts and /v1/api-keys: who may call the API, with which scopes."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import Parameter

from fieldstone.common.errors import Forbidden
from fieldstone.gateway.clients import Clients
from fieldstone.gateway.presenters import api_key_object, page, service_account_object
from fieldstone.gateway.schemas import (
    CreateApiKeyBody,
    CreateServiceAccountBody,
    RotateApiKeyBody,
    UpdateServiceAccountBody,
)
from fieldstone.gateway.security import Principal
from fieldstone.grpc import call
from fieldstone.grpc.convert import to_timestamp
from fieldstone.proto.auth.v1 import auth_pb2

Limit = Annotated[int, Parameter(ge=1, le=100, description="page size (1-100)")]


class ServiceAccountsController(Controller):
    path = "/v1/service-accounts"
    tags = ["service accounts"]

    @post("/", status_code=201, summary="Create a service account")
    async def create(
        self, data: CreateServiceAccountBody, principal: Principal, clients: Clients
    ) -> dict[str, Any]:
        principal.require("keys:write")
        r = await call(
            clients.auth.CreateServiceAccount,
            auth_pb2.CreateServiceAccountRequest(
                workspace_id=principal.workspace_id, name=data.name, description=data.description
            ),
        )
        return service_account_object(r.service_account)

    @get("/", summary="List service accounts, newest first")
    async def list_accounts(
        self, principal: Principal, clients: Clients, limit: Limit = 20, cursor: str | None = None
    ) -> dict[str, Any]:
        principal.require("keys:read")
        r = await call(
            clients.auth.ListServiceAccounts,
            auth_pb2.ListServiceAccountsRequest(
                workspace_id=principal.workspace_id, limit=limit, cursor=cursor or ""
            ),
        )
        return page([service_account_object(sa) for sa in r.service_accounts], r.next_cursor)

    @get("/{account_id:str}", summary="Get a service account")
    async def get_account(self, account_id: str, principal: Principal, clients: Clients) -> dict[str, Any]:
        principal.require("keys:read")
        r = await call(
            clients.auth.GetServiceAccount,
            auth_pb2.GetServiceAccountRequest(
                workspace_id=principal.workspace_id, service_account_id=account_id
            ),
        )
        return service_account_object(r.service_account)

    @patch("/{account_id:str}", summary="Rename or describe a service account")
    async def update(
        self, account_id: str, data: UpdateServiceAccountBody, principal: Principal, clients: Clients
    ) -> dict[str, Any]:
        principal.require("keys:write")
        request = auth_pb2.UpdateServiceAccountRequest(
            workspace_id=principal.workspace_id, service_account_id=account_id
        )
        if data.name is not None:
            request.name = data.name
        if data.description is not None:
            request.description = data.description
        r = await call(clients.auth.UpdateServiceAccount, request)
        return service_account_object(r.service_account)

    @delete("/{account_id:str}", status_code=204, summary="Delete a service account and revoke its keys")
    async def delete_account(self, account_id: str, principal: Principal, clients: Clients) -> None:
        principal.require("keys:write")
        await call(
            clients.auth.DeleteServiceAccount,
            auth_pb2.DeleteServiceAccountRequest(
                workspace_id=principal.workspace_id, service_account_id=account_id
            ),
        )

    @post("/{account_id:str}/keys", status_code=201, summary="Create an API key; the full key is shown once")
    async def create_key(
        self, account_id: str, data: CreateApiKeyBody, principal: Principal, clients: Clients
    ) -> dict[str, Any]:
        principal.require("keys:write")
        # A key can hand out only what it holds itself: no escalation through key creation.
        beyond = sorted(set(data.scopes) - principal.scopes)
        if beyond:
            raise Forbidden(f"this API key cannot grant scopes it lacks: {', '.join(beyond)}")
        r = await call(
            clients.auth.CreateApiKey,
            auth_pb2.CreateApiKeyRequest(
                workspace_id=principal.workspace_id,
                service_account_id=account_id,
                name=data.name,
                scopes=data.scopes,
                expires_at=to_timestamp(data.expires_at),
            ),
        )
        return {**api_key_object(r.api_key), "key": r.key}


class ApiKeysController(Controller):
    path = "/v1/api-keys"
    tags = ["API keys"]

    @get("/", summary="List API keys (revoked ones only when asked), newest first")
    async def list_keys(
        self,
        principal: Principal,
        clients: Clients,
        limit: Limit = 20,
        cursor: str | None = None,
        service_account_id: Annotated[str | None, Parameter(query="serviceAccountId")] = None,
        include_revoked: Annotated[bool, Parameter(query="includeRevoked")] = False,
    ) -> dict[str, Any]:
        principal.require("keys:read")
        r = await call(
            clients.auth.ListApiKeys,
            auth_pb2.ListApiKeysRequest(
                workspace_id=principal.workspace_id,
                limit=limit,
                cursor=cursor or "",
                service_account_id=service_account_id or "",
                include_revoked=include_revoked,
            ),
        )
        return page([api_key_object(k) for k in r.api_keys], r.next_cursor)

    @get("/{key_id:str}", summary="Get an API key (never the key itself)")
    async def get_key(self, key_id: str, principal: Principal, clients: Clients) -> dict[str, Any]:
        principal.require("keys:read")
        r = await call(
            clients.auth.GetApiKey,
            auth_pb2.GetApiKeyRequest(workspace_id=principal.workspace_id, api_key_id=key_id),
        )
        return api_key_object(r.api_key)

    @post(
        "/{key_id:str}/rotate", status_code=201, summary="Rotate a key; old and new both work for the overlap"
    )
    async def rotate(
        self, key_id: str, principal: Principal, clients: Clients, data: RotateApiKeyBody | None = None
    ) -> dict[str, Any]:
        principal.require("keys:write")
        request = auth_pb2.RotateApiKeyRequest(workspace_id=principal.workspace_id, api_key_id=key_id)
        if data is not None and data.overlap_seconds is not None:
            request.overlap_seconds = data.overlap_seconds
        r = await call(clients.auth.RotateApiKey, request)
        return {**api_key_object(r.api_key), "key": r.key, "previous": api_key_object(r.previous)}

    @delete("/{key_id:str}", status_code=200, summary="Revoke an API key at once")
    async def revoke(self, key_id: str, principal: Principal, clients: Clients) -> Response[dict[str, Any]]:
        principal.require("keys:write")
        r = await call(
            clients.auth.RevokeApiKey,
            auth_pb2.RevokeApiKeyRequest(workspace_id=principal.workspace_id, api_key_id=key_id),
        )
        return Response(api_key_object(r.api_key), status_code=200)
