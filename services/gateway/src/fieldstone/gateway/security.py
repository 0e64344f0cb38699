"""Bearer-key authentication with a short cache, and scope checks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from fieldstone.common.apikeys import hash_key, is_well_formed
from fieldstone.common.errors import FieldstoneError, Forbidden, Unauthorized
from fieldstone.common.time import utcnow
from fieldstone.grpc import call
from fieldstone.grpc.convert import from_timestamp
from fieldstone.proto.auth.v1 import auth_pb2
from fieldstone.proto.usage.v1 import usage_pb2


@dataclass(frozen=True)
class Principal:
    workspace_id: str
    service_account_id: str
    api_key_id: str
    scopes: frozenset[str]
    plan: str

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"this API key lacks the scope {scope}")


class Authenticator:
    """Checks the key offline, then asks auth (cached for a few seconds, keyed by hash)."""

    def __init__(self, auth_stub: Any, cache_seconds: float) -> None:
        self._stub = auth_stub
        self._ttl = cache_seconds
        self._cache: dict[str, tuple[float, Principal]] = {}

    async def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise Unauthorized("missing Authorization header; send `Authorization: Bearer <API key>`")
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise Unauthorized("the Authorization header must be `Bearer <API key>`")
        if not is_well_formed(key):
            raise Unauthorized("malformed API key")
        digest = hash_key(key)
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached and cached[0] > now:
            return cached[1]
        response = await call(self._stub.VerifyApiKey, auth_pb2.VerifyApiKeyRequest(key=key))
        p = response.principal
        principal = Principal(p.workspace_id, p.service_account_id, p.api_key_id, frozenset(p.scopes), p.plan)
        if len(self._cache) > 10_000:
            self._cache.clear()
        ttl = self._ttl
        valid_until = from_timestamp(p, "valid_until")
        if valid_until is not None:  # never serve a key from cache past its own end
            ttl = min(ttl, (valid_until - utcnow()).total_seconds())
        self._cache[digest] = (now + ttl, principal)
        return principal

    def evict(self, key_hash: str) -> None:
        self._cache.pop(key_hash, None)


class PlanLimits:
    """Requests per minute of a workspace, from the usage service (one place defines a plan).

    Cached briefly per workspace and dropped when usage announces a plan change; if usage
    cannot be reached, the gateway's own table for the key's plan keeps the API available.
    """

    def __init__(
        self, usage_stub: Any, fallback: dict[str, int], default: int, cache_seconds: float = 30.0
    ) -> None:
        self._stub = usage_stub
        self._fallback = fallback
        self._default = default
        self._ttl = cache_seconds
        self._cache: dict[str, tuple[float, int]] = {}

    async def requests_per_minute(self, principal: Principal) -> int:
        now = time.monotonic()
        cached = self._cache.get(principal.workspace_id)
        if cached and cached[0] > now:
            return cached[1]
        try:
            r = await call(
                self._stub.GetPlanLimits,
                usage_pb2.GetPlanLimitsRequest(workspace_id=principal.workspace_id),
                deadline_seconds=2.0,
            )
            rpm = int(r.requests_per_minute)
        except FieldstoneError:
            return self._fallback.get(principal.plan, self._default)
        self._cache[principal.workspace_id] = (now + self._ttl, rpm)
        return rpm

    def forget(self, workspace_id: str) -> None:
        self._cache.pop(workspace_id, None)
