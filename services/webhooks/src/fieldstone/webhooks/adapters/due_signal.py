"""Postgres LISTEN/NOTIFY that wakes dispatchers the moment an event becomes due.

A transaction that makes an event due sends the notification; Postgres delivers it at commit,
so a dispatcher never wakes before the row is visible. Polling stays as the fallback.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

CHANNEL = "fieldstone_webhooks_due"


async def notify_due(conn: Any) -> None:
    """Call inside the transaction that made events due."""
    await conn.execute(f"NOTIFY {CHANNEL}")


@contextlib.asynccontextmanager
async def listening(pool: asyncpg.Pool, wake: Callable[[], None]) -> AsyncIterator[None]:
    """Call `wake()` on every notification while the context is open."""

    def on_notify(*_: Any) -> None:
        wake()

    conn = await pool.acquire()
    try:
        await conn.add_listener(CHANNEL, on_notify)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                await conn.remove_listener(CHANNEL, on_notify)
    finally:
        await pool.release(conn)
