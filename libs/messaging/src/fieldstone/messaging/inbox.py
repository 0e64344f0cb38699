"""The idempotent-consumer inbox."""

from __future__ import annotations

from typing import Any


async def claim(conn: Any, consumer: str, event_id: str) -> bool:
    """Record `event_id` as processed by `consumer`; False if it already was.

    Call it inside the transaction that applies the event's effect, so the claim and the
    effect commit together and a redelivered event is skipped.
    """
    row = await conn.fetchval(
        "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
        consumer,
        event_id,
    )
    return row is not None
