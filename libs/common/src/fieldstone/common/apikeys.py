"""The API key format (SYSTEM.md §2), shared by auth (issuing) and the gateway (offline checks).

`fsk_live_` + 30 random base62 characters + a 6-character base62 CRC32 of them, so secret
scanners and the gateway reject malformed keys without a lookup. Only SHA-256 hashes are stored.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import zlib

KEY_PREFIX = "fsk_live_"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_BODY_LEN = 30
_CHECK_LEN = 6
KEY_LENGTH = len(KEY_PREFIX) + _BODY_LEN + _CHECK_LEN


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
