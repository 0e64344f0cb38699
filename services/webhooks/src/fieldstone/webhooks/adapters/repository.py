"""SQL for the webhooks tables; every read a client can make is scoped by workspace."""

from __future__ import annotations

from typing import Any

from fieldstone.webhooks.domain.model import Attempt, Delivery, DueDelivery, Endpoint, WebhookEvent

_ENDPOINT_COLUMNS = "id, workspace_id, url, event_types, description, enabled, created_at, created_by"
_DELIVERY_COLUMNS = "id, event_id, endpoint_id, status, attempt_count, next_attempt_at"


def _endpoint(row: Any) -> Endpoint:
    data: dict[str, Any] = dict(row)
    data["event_types"] = list(data["event_types"])
    return Endpoint(**data)


def _event(row: Any, deliveries: list[Delivery] | None = None) -> WebhookEvent:
    return WebhookEvent(**dict(row), deliveries=deliveries or [])


class WebhooksRepository:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def add_endpoint(
        self,
        *,
        endpoint_id: str,
        workspace_id: str,
        url: str,
        event_types: list[str],
        description: str,
        created_by: str,
        sealed_secret: bytes,
    ) -> Endpoint:
        row = await self.conn.fetchrow(
            f"""INSERT INTO endpoints
                    (id, workspace_id, url, event_types, description, created_by, secret_ciphertext)
                VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_ENDPOINT_COLUMNS}""",
            endpoint_id,
            workspace_id,
            url,
            event_types,
            description,
            created_by,
            sealed_secret,
        )
        return _endpoint(row)

    async def list_endpoints(self, workspace_id: str) -> list[Endpoint]:
        rows = await self.conn.fetch(
            f"SELECT {_ENDPOINT_COLUMNS} FROM endpoints WHERE workspace_id = $1 ORDER BY id DESC",
            workspace_id,
        )
        return [_endpoint(r) for r in rows]

    async def subscribed_endpoint_ids(self, workspace_id: str, event_type: str) -> list[str]:
        rows = await self.conn.fetch(
            """SELECT id FROM endpoints WHERE workspace_id = $1 AND enabled AND $2 = ANY (event_types)
               ORDER BY id""",
            workspace_id,
            event_type,
        )
        return [r["id"] for r in rows]

    async def add_event(
        self, event_id: str, workspace_id: str, event_type: str, payload: dict[str, Any]
    ) -> None:
        await self.conn.execute(
            "INSERT INTO webhook_events (id, workspace_id, type, payload) VALUES ($1, $2, $3, $4)",
            event_id,
            workspace_id,
            event_type,
            payload,
        )

    async def add_delivery(self, delivery_id: str, event_id: str, endpoint_id: str) -> None:
        await self.conn.execute(
            "INSERT INTO deliveries (id, event_id, endpoint_id, next_attempt_at) VALUES ($1, $2, $3, now())",
            delivery_id,
            event_id,
            endpoint_id,
        )

    async def list_events(self, workspace_id: str, limit: int, before: str | None) -> list[WebhookEvent]:
        rows = await self.conn.fetch(
            """SELECT id, workspace_id, type, payload, created_at FROM webhook_events
               WHERE workspace_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3""",
            workspace_id,
            before,
            limit,
        )
        return [_event(r) for r in rows]

    async def get_event(self, workspace_id: str, event_id: str) -> WebhookEvent | None:
        row = await self.conn.fetchrow(
            "SELECT id, workspace_id, type, payload, created_at FROM webhook_events WHERE workspace_id = $1 AND id = $2",
            workspace_id,
            event_id,
        )
        if row is None:
            return None
        deliveries = await self.conn.fetch(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE event_id = $1 ORDER BY id", event_id
        )
        attempts = await self.conn.fetch(
            """SELECT delivery_id, number, status_code, duration_ms, response_excerpt, error, attempted_at
               FROM attempts WHERE delivery_id = ANY ($1::text[]) ORDER BY delivery_id, number""",
            [d["id"] for d in deliveries],
        )
        by_delivery: dict[str, list[Attempt]] = {}
        for a in attempts:
            data = dict(a)
            by_delivery.setdefault(data.pop("delivery_id"), []).append(Attempt(**data))
        return _event(row, [Delivery(**dict(d), attempts=by_delivery.get(d["id"], [])) for d in deliveries])

    async def claim_due(self, limit: int, lease_seconds: float) -> list[DueDelivery]:
        """Take up to `limit` due deliveries and push them `lease_seconds` ahead before they are sent,
        so a dispatcher that dies mid-send leaves them to be retried, never lost."""
        rows = await self.conn.fetch(
            """UPDATE deliveries d SET next_attempt_at = now() + make_interval(secs => $2::double precision)
               FROM (SELECT d2.id FROM deliveries d2 JOIN endpoints p2 ON p2.id = d2.endpoint_id
                     WHERE d2.status = 'pending' AND d2.next_attempt_at <= now() AND p2.enabled
                     ORDER BY d2.next_attempt_at LIMIT $1 FOR UPDATE OF d2 SKIP LOCKED) due,
                    webhook_events e, endpoints p
               WHERE d.id = due.id AND e.id = d.event_id AND p.id = d.endpoint_id
               RETURNING d.id, d.event_id, d.endpoint_id, e.workspace_id, p.url,
                         p.secret_ciphertext AS sealed_secret, e.payload""",
            limit,
            lease_seconds,
        )
        return [DueDelivery(**dict(r)) for r in rows]

    async def lock_delivery(self, delivery_id: str) -> Delivery | None:
        row = await self.conn.fetchrow(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE id = $1 FOR UPDATE", delivery_id
        )
        return Delivery(**dict(row)) if row else None

    async def add_attempt(self, attempt_id: str, delivery_id: str, attempt: Attempt) -> None:
        await self.conn.execute(
            """INSERT INTO attempts
                   (id, delivery_id, number, status_code, duration_ms, response_excerpt, error, attempted_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            attempt_id,
            delivery_id,
            attempt.number,
            attempt.status_code,
            attempt.duration_ms,
            attempt.response_excerpt,
            attempt.error,
            attempt.attempted_at,
        )

    async def update_delivery(
        self, delivery_id: str, *, status: str, attempt_count: int, retry_in_seconds: float | None
    ) -> None:
        """`retry_in_seconds` None ends the schedule (next_attempt_at is cleared)."""
        await self.conn.execute(
            """UPDATE deliveries SET status = $2, attempt_count = $3, updated_at = now(),
                   next_attempt_at = now() + make_interval(secs => $4::double precision)
               WHERE id = $1""",
            delivery_id,
            status,
            attempt_count,
            retry_in_seconds,
        )
