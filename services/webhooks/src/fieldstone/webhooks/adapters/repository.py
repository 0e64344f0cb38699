"""SQL for the webhooks tables; every read a client can make is scoped by workspace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry import propagate

from fieldstone.webhooks.domain.model import (
    Attempt,
    DueEvent,
    Endpoint,
    EndpointChanges,
    EventFilter,
    WebhookEvent,
)

_ENDPOINT_COLUMNS = """id, workspace_id, url, event_types, description, enabled, created_at, created_by, updated_at,
    disabled_reason, disabled_at, secret_rotated_at,
    CASE WHEN previous_secret_expires_at > now() THEN previous_secret_expires_at END AS previous_secret_expires_at"""
_EVENT_COLUMNS = """id, workspace_id, endpoint_id, type, payload, status, attempt_count, next_attempt_at,
    last_attempt_at, created_at"""
_ATTEMPT_COLUMNS = "number, trigger, outcome, status_code, duration_ms, response_body, error, attempted_at"
INTERRUPTED = "interrupted: the dispatcher stopped before the attempt finished"


def _traceparent() -> str | None:
    """The W3C traceparent of the current span, if there is one."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


@dataclass(frozen=True)
class DeliveryStats:
    """What an operator alerts on: the backlog by state and endpoints disabled by reason."""

    due: int
    scheduled: int
    in_flight: int
    oldest_due_seconds: float
    disabled: dict[str, int]


def _endpoint(row: Any) -> Endpoint:
    data: dict[str, Any] = dict(row)
    data["event_types"] = list(data["event_types"])
    return Endpoint(**data)


@dataclass(frozen=True)
class RecordedAttempt:
    """One finished attempt, as the dispatcher hands it to `record_attempts`."""

    event_id: str
    endpoint_id: str
    number: int
    round_start: int
    outcome: str
    status_code: int | None
    duration_ms: int
    response_body: str
    error: str | None
    event_status: str
    retry_in: float | None


@dataclass(frozen=True)
class FinishedEvent:
    id: str
    workspace_id: str
    endpoint_id: str
    status: str
    attempt_count: int


class WebhooksRepository:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    # -- endpoints ---------------------------------------------------------------------------
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
            f"""SELECT {_ENDPOINT_COLUMNS} FROM endpoints WHERE workspace_id = $1 AND deleted_at IS NULL
                ORDER BY id DESC""",
            workspace_id,
        )
        return [_endpoint(r) for r in rows]

    async def get_endpoint(
        self, workspace_id: str, endpoint_id: str, *, lock: bool = False
    ) -> Endpoint | None:
        row = await self.conn.fetchrow(
            f"""SELECT {_ENDPOINT_COLUMNS} FROM endpoints
                WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL {"FOR UPDATE" if lock else ""}""",
            workspace_id,
            endpoint_id,
        )
        return _endpoint(row) if row else None

    async def update_endpoint(self, endpoint_id: str, changes: EndpointChanges) -> Endpoint:
        """Apply `changes`; enabling clears the disabled state and the failure streak."""
        row = await self.conn.fetchrow(
            f"""UPDATE endpoints SET
                    url = coalesce($2, url),
                    event_types = coalesce($3, event_types),
                    description = coalesce($4, description),
                    enabled = coalesce($5, enabled),
                    disabled_reason = CASE WHEN $5 IS NULL THEN disabled_reason
                                           WHEN $5 THEN NULL ELSE coalesce(disabled_reason, 'manual') END,
                    disabled_at = CASE WHEN $5 IS NULL THEN disabled_at
                                       WHEN $5 THEN NULL ELSE coalesce(disabled_at, now()) END,
                    failing_since = CASE WHEN $5 THEN NULL ELSE failing_since END,
                    updated_at = now()
                WHERE id = $1 RETURNING {_ENDPOINT_COLUMNS}""",
            endpoint_id,
            changes.url,
            changes.event_types,
            changes.description,
            changes.enabled,
        )
        return _endpoint(row)

    async def delete_endpoint(self, endpoint_id: str) -> None:
        await self.conn.execute(
            """UPDATE endpoints SET deleted_at = now(), enabled = false,
                   disabled_reason = coalesce(disabled_reason, 'manual'), disabled_at = coalesce(disabled_at, now()),
                   secret_ciphertext = NULL, previous_secret_ciphertext = NULL, previous_secret_expires_at = NULL,
                   updated_at = now()
               WHERE id = $1""",
            endpoint_id,
        )

    async def rotate_secret(self, endpoint_id: str, sealed_secret: bytes, overlap_seconds: float) -> Endpoint:
        """The new secret signs from now on; the current one keeps signing for `overlap_seconds`."""
        row = await self.conn.fetchrow(
            f"""UPDATE endpoints SET
                    previous_secret_ciphertext = secret_ciphertext,
                    previous_secret_expires_at = now() + make_interval(secs => $3::double precision),
                    secret_ciphertext = $2, secret_rotated_at = now(), updated_at = now()
                WHERE id = $1 RETURNING {_ENDPOINT_COLUMNS}""",
            endpoint_id,
            sealed_secret,
            overlap_seconds,
        )
        return _endpoint(row)

    async def disable_endpoints(self, endpoint_ids: Sequence[str], reason: str) -> list[str]:
        """Disable the enabled ones among `endpoint_ids`; returns those that changed."""
        rows = await self.conn.fetch(
            """UPDATE endpoints SET enabled = false, disabled_reason = $2, disabled_at = now(), updated_at = now()
               WHERE id = ANY ($1::text[]) AND enabled RETURNING id""",
            list(endpoint_ids),
            reason,
        )
        return [r["id"] for r in rows]

    async def note_endpoint_health(
        self, succeeded: Sequence[str], failed: Sequence[str], disable_after_seconds: float
    ) -> list[str]:
        """Track failure streaks; returns the endpoints that have now failed for too long (disabled here).

        Only rows whose state changes are written, so busy endpoints are not a point of contention.
        """
        if succeeded:
            await self.conn.execute(
                "UPDATE endpoints SET failing_since = NULL WHERE id = ANY ($1::text[]) AND failing_since IS NOT NULL",
                list(succeeded),
            )
        if not failed:
            return []
        await self.conn.execute(
            "UPDATE endpoints SET failing_since = now() WHERE id = ANY ($1::text[]) AND failing_since IS NULL",
            list(failed),
        )
        rows = await self.conn.fetch(
            """UPDATE endpoints SET enabled = false, disabled_reason = 'failing', disabled_at = now(),
                   updated_at = now()
               WHERE id = ANY ($1::text[]) AND enabled
                 AND failing_since <= now() - make_interval(secs => $2::double precision)
               RETURNING id""",
            list(failed),
            disable_after_seconds,
        )
        return [r["id"] for r in rows]

    async def subscribed_endpoint_ids(self, workspace_id: str, event_type: str) -> list[str]:
        rows = await self.conn.fetch(
            """SELECT id FROM endpoints WHERE workspace_id = $1 AND enabled AND $2 = ANY (event_types)
               ORDER BY id""",
            workspace_id,
            event_type,
        )
        return [r["id"] for r in rows]

    # -- events ------------------------------------------------------------------------------
    async def add_event(
        self,
        *,
        event_id: str,
        workspace_id: str,
        endpoint_id: str,
        event_type: str,
        payload: dict[str, Any],
        source_event_id: str,
    ) -> bool:
        """Insert a due event; False when it already exists (the same occurrence seen again).

        The current trace context is kept with it, so its attempts continue the trace."""
        inserted = await self.conn.fetchval(
            """INSERT INTO webhook_events
                   (id, workspace_id, endpoint_id, type, payload, source_event_id, next_attempt_at, traceparent)
               VALUES ($1, $2, $3, $4, $5, $6, now(), $7) ON CONFLICT (id) DO NOTHING RETURNING 1""",
            event_id,
            workspace_id,
            endpoint_id,
            event_type,
            payload,
            source_event_id,
            _traceparent(),
        )
        return inserted is not None

    async def list_events(
        self, workspace_id: str, flt: EventFilter, limit: int, before: str | None
    ) -> list[WebhookEvent]:
        rows = await self.conn.fetch(
            f"""SELECT {_EVENT_COLUMNS} FROM webhook_events
                WHERE workspace_id = $1 AND ($2::text IS NULL OR id < $2)
                  AND ($3::text IS NULL OR endpoint_id = $3) AND ($4::text IS NULL OR type = $4)
                  AND ($5::text IS NULL OR status = $5)
                ORDER BY id DESC LIMIT $6""",
            workspace_id,
            before,
            flt.endpoint_id,
            flt.type,
            flt.status,
            limit,
        )
        return [WebhookEvent(**dict(r)) for r in rows]

    async def get_event(self, workspace_id: str, event_id: str, *, lock: bool = False) -> WebhookEvent | None:
        row = await self.conn.fetchrow(
            f"""SELECT {_EVENT_COLUMNS} FROM webhook_events WHERE workspace_id = $1 AND id = $2
                {"FOR UPDATE" if lock else ""}""",
            workspace_id,
            event_id,
        )
        if row is None:
            return None
        attempts = await self.conn.fetch(
            f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE event_id = $1 ORDER BY number", event_id
        )
        return WebhookEvent(**dict(row), attempts=[Attempt(**dict(a)) for a in attempts])

    async def replay_event(self, event_id: str) -> None:
        """Start a new round now. An attempt still in flight keeps its lease, so the round's first
        attempt follows it rather than racing it."""
        await self.conn.execute(
            """UPDATE webhook_events SET status = 'pending', round = round + 1, round_start = attempt_count,
                   next_attempt_at = now(), updated_at = now(), traceparent = coalesce($2, traceparent)
               WHERE id = $1""",
            event_id,
            _traceparent(),
        )

    async def fail_pending_events(self, endpoint_ids: Sequence[str]) -> list[FinishedEvent]:
        """End what is still pending for endpoints that were disabled or deleted."""
        rows = await self.conn.fetch(
            """UPDATE webhook_events SET status = 'failed', next_attempt_at = NULL, updated_at = now()
               WHERE endpoint_id = ANY ($1::text[]) AND status = 'pending'
               RETURNING id, workspace_id, endpoint_id, status, attempt_count""",
            list(endpoint_ids),
        )
        return [FinishedEvent(**dict(r)) for r in rows]

    # -- the dispatcher ----------------------------------------------------------------------
    async def delivery_stats(self) -> DeliveryStats:
        """Pending events of enabled endpoints (due now, scheduled later, in flight) and disabled endpoints."""
        row = await self.conn.fetchrow(
            """
            SELECT count(*) FILTER (WHERE e.leased_until > now()) AS in_flight,
                   count(*) FILTER (WHERE NOT coalesce(e.leased_until > now(), false)
                                      AND e.next_attempt_at <= now()) AS due,
                   count(*) FILTER (WHERE NOT coalesce(e.leased_until > now(), false)
                                      AND e.next_attempt_at > now()) AS scheduled,
                   coalesce(extract(epoch FROM now() - min(e.next_attempt_at) FILTER (
                       WHERE NOT coalesce(e.leased_until > now(), false) AND e.next_attempt_at <= now())), 0)
                       AS oldest_due
            FROM webhook_events e JOIN endpoints p ON p.id = e.endpoint_id AND p.enabled
            WHERE e.status = 'pending'
            """
        )
        disabled = await self.conn.fetch(
            """SELECT coalesce(disabled_reason, 'manual') AS reason, count(*) AS n FROM endpoints
               WHERE NOT enabled AND deleted_at IS NULL GROUP BY 1"""
        )
        return DeliveryStats(
            due=row["due"],
            scheduled=row["scheduled"],
            in_flight=row["in_flight"],
            oldest_due_seconds=float(row["oldest_due"]),
            disabled={r["reason"]: r["n"] for r in disabled},
        )

    async def claim_due(self, limit: int, lease_seconds: float, per_endpoint: int) -> list[DueEvent]:
        """Take up to `limit` due events for one attempt each.

        In one statement: skip rows another dispatcher holds (SKIP LOCKED), keep at most
        `per_endpoint` attempts in flight per endpoint across all dispatchers (so one slow
        receiver cannot take every slot), lease each event (a dispatcher that dies leaves it to
        be taken again when the lease ends), mark attempts a dead dispatcher left unfinished,
        and log the new attempts as in flight.
        """
        rows = await self.conn.fetch(
            """
            WITH busy AS (
                SELECT endpoint_id, count(*) AS n FROM webhook_events
                WHERE leased_until > now() GROUP BY endpoint_id
            ), candidates AS (
                SELECT e.id, e.endpoint_id, e.next_attempt_at FROM webhook_events e
                JOIN endpoints p ON p.id = e.endpoint_id AND p.enabled
                WHERE e.status = 'pending' AND e.next_attempt_at <= now()
                  AND (e.leased_until IS NULL OR e.leased_until <= now())
                  AND NOT EXISTS (SELECT 1 FROM busy b WHERE b.endpoint_id = e.endpoint_id AND b.n >= $3)
                ORDER BY e.next_attempt_at
                LIMIT $1 * 4
                FOR UPDATE OF e SKIP LOCKED
            ), picked AS (
                SELECT r.id FROM (
                    SELECT c.*, row_number() OVER (PARTITION BY c.endpoint_id ORDER BY c.next_attempt_at, c.id) AS rank
                    FROM candidates c
                ) r LEFT JOIN busy b ON b.endpoint_id = r.endpoint_id
                WHERE r.rank + coalesce(b.n, 0) <= $3
                ORDER BY r.next_attempt_at LIMIT $1
            ), claimed AS (
                UPDATE webhook_events e SET attempt_count = e.attempt_count + 1,
                    leased_until = now() + make_interval(secs => $2::double precision),
                    next_attempt_at = now() + make_interval(secs => $2::double precision),
                    last_attempt_at = now(), updated_at = now()
                FROM picked WHERE e.id = picked.id
                RETURNING e.id, e.endpoint_id, e.workspace_id, e.payload, e.attempt_count AS number, e.round,
                          e.round_start, e.traceparent
            ), interrupted AS (
                UPDATE attempts a SET outcome = 'failed', error = $4
                FROM claimed c WHERE a.event_id = c.id AND a.outcome = 'in_flight'
            ), started AS (
                INSERT INTO attempts (event_id, number, trigger, attempted_at)
                SELECT c.id, c.number,
                       CASE WHEN c.number > c.round_start + 1 THEN 'retry'
                            WHEN c.round > 0 THEN 'replay' ELSE 'initial' END,
                       now()
                FROM claimed c
            )
            SELECT c.id, c.endpoint_id, c.workspace_id, c.payload, c.number, c.round_start, c.traceparent, p.url,
                   p.secret_ciphertext AS secret,
                   CASE WHEN p.previous_secret_expires_at > now() THEN p.previous_secret_ciphertext END
                       AS previous_secret
            FROM claimed c JOIN endpoints p ON p.id = c.endpoint_id
            """,
            limit,
            lease_seconds,
            per_endpoint,
            INTERRUPTED,
        )
        return [
            DueEvent(
                id=r["id"],
                endpoint_id=r["endpoint_id"],
                workspace_id=r["workspace_id"],
                url=r["url"],
                sealed_secrets=[bytes(s) for s in (r["secret"], r["previous_secret"]) if s is not None],
                payload=r["payload"],
                number=r["number"],
                round_start=r["round_start"],
                traceparent=r["traceparent"],
            )
            for r in rows
        ]

    async def record_attempts(self, results: Sequence[RecordedAttempt]) -> list[FinishedEvent]:
        """Log finished attempts and move their events on; returns the events that this finished.

        An event changes only if its attempt is still the latest (no dispatcher took it again after
        the lease ended) and no replay, disable or delete happened meanwhile; otherwise only the
        attempt is logged and the lease released.
        """
        await self.conn.executemany(
            """UPDATE attempts SET outcome = $3, status_code = $4, duration_ms = $5, response_body = $6, error = $7
               WHERE event_id = $1 AND number = $2""",
            [
                (r.event_id, r.number, r.outcome, r.status_code, r.duration_ms, r.response_body, r.error)
                for r in results
            ],
        )
        rows = await self.conn.fetch(
            """
            WITH r AS (
                SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::float8[])
                    AS r(id, number, round_start, status, retry_in)
            ), target AS (
                SELECT e.id, r.status, r.retry_in,
                       (e.status = 'pending' AND e.round_start = r.round_start) AS applies
                FROM webhook_events e JOIN r ON r.id = e.id AND e.attempt_count = r.number
                FOR UPDATE OF e
            )
            UPDATE webhook_events e SET
                status = CASE WHEN t.applies THEN t.status ELSE e.status END,
                next_attempt_at = CASE
                    WHEN NOT t.applies THEN e.next_attempt_at
                    WHEN t.status = 'pending' THEN now() + make_interval(secs => t.retry_in)
                END,
                leased_until = NULL, updated_at = now()
            FROM target t WHERE e.id = t.id
            RETURNING e.id, e.workspace_id, e.endpoint_id, e.status, e.attempt_count, t.applies
            """,
            [r.event_id for r in results],
            [r.number for r in results],
            [r.round_start for r in results],
            [r.event_status for r in results],
            [r.retry_in for r in results],
        )
        return [
            FinishedEvent(r["id"], r["workspace_id"], r["endpoint_id"], r["status"], r["attempt_count"])
            for r in rows
            if r["applies"] and r["status"] != "pending"
        ]
