"""Bearer-key authentication with a short cache, and scope checks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from fieldstone.common.apikeys import hash_key, is_well_formed
from fieldstone.common.errors import Forbidden, Unauthorized
from fieldstone.grpc import call
from fieldstone.proto.auth.v1 import auth_pb2


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
        self._cache[digest] = (now + self._ttl, principal)
        return principal

    def evict(self, key_hash: str) -> None:
        self._cache.pop(key_hash, None)
