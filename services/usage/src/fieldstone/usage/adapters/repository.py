"""SQL for the usage tables, and the repository protocol the service layer depends on."""

from __future__ import annotations

from typing import Any, Protocol

from fieldstone.usage.domain.model import PeriodUsage, Reservation, ReservationStatus


class AbstractUsageRepository(Protocol):
    async def plan_of(self, workspace_id: str, *, for_update: bool = False) -> str | None: ...

    async def set_plan(self, workspace_id: str, plan: str) -> None: ...

    async def set_initial_plan(self, workspace_id: str, plan: str) -> bool: ...

    async def get_period(self, workspace_id: str, period_key: str) -> PeriodUsage: ...

    async def lock_period(self, workspace_id: str, period_key: str) -> PeriodUsage: ...

    async def save_period(self, usage: PeriodUsage) -> None: ...

    async def get_reservation(
        self, reservation_id: str, *, for_update: bool = False
    ) -> Reservation | None: ...

    async def add_reservation(self, reservation: Reservation) -> bool: ...

    async def save_reservation(self, reservation: Reservation) -> None: ...

    async def mark_threshold(self, workspace_id: str, period_key: str, percent: int, limit: int) -> bool: ...


def _period(row: Any) -> PeriodUsage:
    return PeriodUsage(row["workspace_id"], row["period_key"], row["used"], row["reserved"])


class UsageRepository:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def plan_of(self, workspace_id: str, *, for_update: bool = False) -> str | None:
        plan: str | None = await self.conn.fetchval(
            "SELECT plan FROM workspace_plans WHERE workspace_id = $1"
            + (" FOR UPDATE" if for_update else ""),
            workspace_id,
        )
        return plan

    async def set_plan(self, workspace_id: str, plan: str) -> None:
        await self.conn.execute(
            """INSERT INTO workspace_plans (workspace_id, plan) VALUES ($1, $2)
               ON CONFLICT (workspace_id) DO UPDATE SET plan = EXCLUDED.plan, updated_at = now()""",
            workspace_id,
            plan,
        )

    async def set_initial_plan(self, workspace_id: str, plan: str) -> bool:
        """Store the plan only if the workspace has none yet; True if it was stored."""
        inserted = await self.conn.fetchval(
            """INSERT INTO workspace_plans (workspace_id, plan) VALUES ($1, $2)
               ON CONFLICT (workspace_id) DO NOTHING RETURNING 1""",
            workspace_id,
            plan,
        )
        return inserted is not None

    async def get_period(self, workspace_id: str, period_key: str) -> PeriodUsage:
        row = await self.conn.fetchrow(
            "SELECT * FROM period_usage WHERE workspace_id = $1 AND period_key = $2", workspace_id, period_key
        )
        return _period(row) if row else PeriodUsage(workspace_id, period_key)

    async def lock_period(self, workspace_id: str, period_key: str) -> PeriodUsage:
        """The period's row, created if needed and locked until the transaction ends."""
        await self.conn.execute(
            "INSERT INTO period_usage (workspace_id, period_key) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            workspace_id,
            period_key,
        )
        row = await self.conn.fetchrow(
            "SELECT * FROM period_usage WHERE workspace_id = $1 AND period_key = $2 FOR UPDATE",
            workspace_id,
            period_key,
        )
        return _period(row)

    async def save_period(self, usage: PeriodUsage) -> None:
        await self.conn.execute(
            "UPDATE period_usage SET used = $3, reserved = $4 WHERE workspace_id = $1 AND period_key = $2",
            usage.workspace_id,
            usage.period_key,
            usage.used,
            usage.reserved,
        )

    async def get_reservation(self, reservation_id: str, *, for_update: bool = False) -> Reservation | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM reservations WHERE reservation_id = $1" + (" FOR UPDATE" if for_update else ""),
            reservation_id,
        )
        if row is None:
            return None
        return Reservation(
            reservation_id=row["reservation_id"],
            workspace_id=row["workspace_id"],
            period_key=row["period_key"],
            status=ReservationStatus(row["status"]),
            settled_at=row["settled_at"],
        )

    async def add_reservation(self, reservation: Reservation) -> bool:
        """False when a reservation with this id already exists."""
        inserted = await self.conn.fetchval(
            """INSERT INTO reservations (reservation_id, workspace_id, period_key, status)
               VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1""",
            reservation.reservation_id,
            reservation.workspace_id,
            reservation.period_key,
            reservation.status.value,
        )
        return inserted is not None

    async def save_reservation(self, reservation: Reservation) -> None:
        await self.conn.execute(
            "UPDATE reservations SET status = $2, settled_at = $3 WHERE reservation_id = $1",
            reservation.reservation_id,
            reservation.status.value,
            reservation.settled_at,
        )

    async def mark_threshold(self, workspace_id: str, period_key: str, percent: int, limit: int) -> bool:
        """Record a reached threshold; False if it was recorded before (then it is not announced again)."""
        inserted = await self.conn.fetchval(
            """INSERT INTO usage_thresholds (workspace_id, period_key, percent, plan_limit)
               VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1""",
            workspace_id,
            period_key,
            percent,
            limit,
        )
        return inserted is not None
