"""Prefixed, time-sortable identifiers (`ext_01JD...`).

The body is a ULID in Crockford base32: 48 bits of milliseconds then 80 random bits,
so ids sort by creation time as plain strings and list pagination can use them as cursors.
"""

from __future__ import annotations

import re
import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIXES = frozenset(
    {"ext", "tpl", "file", "run", "key", "sa", "ws", "whep", "evt", "msg", "del", "att", "res", "job"}
)
_ID = re.compile(r"^(?P<prefix>[a-z]+)_(?P<body>[0-9A-HJKMNP-TV-Z]{26})$")


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """A new id such as `ext_01JD2Z...`; `prefix` must be one of PREFIXES."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    body = (ms << 80) | secrets.randbits(80)
    return f"{prefix}_{_encode(body, 26)}"


def is_valid_id(value: str, prefix: str) -> bool:
    """True when `value` is a well-formed id with the given prefix."""
    match = _ID.match(value)
    return bool(match) and match is not None and match.group("prefix") == prefix
