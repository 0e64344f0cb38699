"""API keys, scopes and plans: the rules of the auth domain (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fieldstone.common.apikeys import generate_key, hash_key, is_well_formed, key_prefix

__all__ = [
    "PLANS",
    "SCOPES",
    "ApiKeyRecord",
    "Principal",
    "generate_key",
    "hash_key",
    "invalid_scopes",
    "is_well_formed",
    "key_prefix",
]

RESOURCES = ("files", "templates", "extractions", "webhooks", "usage", "keys")
SCOPES = frozenset(f"{r}:{a}" for r in RESOURCES for a in ("read", "write"))
PLANS = ("free", "starter", "core", "pro")
# lastUsedAt is written at most this often, so verification stays a read.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def invalid_scopes(scopes: list[str]) -> list[str]:
    return sorted(set(scopes) - SCOPES)


@dataclass(frozen=True)
class ApiKeyRecord:
    id: str
    workspace_id: str
    service_account_id: str
    name: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    rotated_from: str | None = None

    def usable_at(self, now: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or self.expires_at > now

    def valid_until(self) -> datetime | None:
        ends = [t for t in (self.expires_at, self.revoked_at) if t is not None]
        return min(ends) if ends else None

    def needs_last_used_update(self, now: datetime) -> bool:
        return self.last_used_at is None or now - self.last_used_at >= LAST_USED_RESOLUTION


@dataclass(frozen=True)
class Principal:
    workspace_id: str
    service_account_id: str
    api_key_id: str
    scopes: list[str]
    plan: str
    valid_until: datetime | None = None
