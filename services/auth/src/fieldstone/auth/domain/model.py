"""API keys, scopes and plans: the rules of the auth domain (no I/O)."""

from __future__ import annotations

import hashlib
import secrets
import string
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

KEY_PREFIX = "fsk_live_"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_BODY_LEN = 30
_CHECK_LEN = 6
KEY_LENGTH = len(KEY_PREFIX) + _BODY_LEN + _CHECK_LEN

RESOURCES = ("files", "templates", "extractions", "webhooks", "usage", "keys")
SCOPES = frozenset(f"{r}:{a}" for r in RESOURCES for a in ("read", "write"))
PLANS = ("free", "starter", "core", "pro")
# lastUsedAt is written at most this often, so verification stays a read.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _base62(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        value, rem = divmod(value, 62)
        out.append(_BASE62[rem])
    return "".join(reversed(out))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECK_LEN)


def generate_key() -> str:
    """`fsk_live_` + 30 random base62 characters + a 6-character base62 CRC32 of them."""
    body = "".join(secrets.choice(_BASE62) for _ in range(_BODY_LEN))
    return KEY_PREFIX + body + _checksum(body)


def is_well_formed(key: str) -> bool:
    """Offline check (format and checksum) done before any lookup."""
    if len(key) != KEY_LENGTH or not key.startswith(KEY_PREFIX):
        return False
    body, check = key[len(KEY_PREFIX) : -_CHECK_LEN], key[-_CHECK_LEN:]
    if any(c not in _BASE62 for c in body):
        return False
    return secrets.compare_digest(_checksum(body), check)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str:
    return key[:16]


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

    def usable_at(self, now: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or self.expires_at > now

    def needs_last_used_update(self, now: datetime) -> bool:
        return self.last_used_at is None or now - self.last_used_at >= LAST_USED_RESOLUTION


@dataclass(frozen=True)
class Principal:
    workspace_id: str
    service_account_id: str
    api_key_id: str
    scopes: list[str]
    plan: str
