"""Fakes of the usage repository and unit of work, shared by the unit tests."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Self

from google.protobuf.message import Message

from fieldstone.usage.domain.model import PeriodUsage, Reservation


@dataclass
class FakeState:
    plans: dict[str, str] = field(default_factory=dict)
    periods: dict[tuple[str, str], PeriodUsage] = field(default_factory=dict)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    inbox: set[tuple[str, str]] = field(default_factory=set)
    thresholds: set[tuple[str, str, int, int]] = field(default_factory=set)
    outbox: list[dict[str, Any]] = field(default_factory=list)


class FakeUsageRepository:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    async def plan_of(self, workspace_id: str, *, for_update: bool = False) -> str | None:
        return self.state.plans.get(workspace_id)

    async def set_plan(self, workspace_id: str, plan: str) -> None:
        self.state.plans[workspace_id] = plan

    async def set_initial_plan(self, workspace_id: str, plan: str) -> bool:
        return self.state.plans.setdefault(workspace_id, plan) == plan

    async def mark_threshold(self, workspace_id: str, period_key: str, percent: int, limit: int) -> bool:
        key = (workspace_id, period_key, percent, limit)
        if key in self.state.thresholds:
            return False
        self.state.thresholds.add(key)
        return True

    async def get_period(self, workspace_id: str, period_key: str) -> PeriodUsage:
        return replace(
            self.state.periods.get((workspace_id, period_key), PeriodUsage(workspace_id, period_key))
        )

    async def lock_period(self, workspace_id: str, period_key: str) -> PeriodUsage:
        self.state.periods.setdefault((workspace_id, period_key), PeriodUsage(workspace_id, period_key))
        return await self.get_period(workspace_id, period_key)

    async def save_period(self, usage: PeriodUsage) -> None:
        self.state.periods[(usage.workspace_id, usage.period_key)] = replace(usage)

    async def get_reservation(self, reservation_id: str, *, for_update: bool = False) -> Reservation | None:
        found = self.state.reservations.get(reservation_id)
        return replace(found) if found else None

    async def add_reservation(self, reservation: Reservation) -> bool:
        if reservation.reservation_id in self.state.reservations:
            return False
        self.state.reservations[reservation.reservation_id] = replace(reservation)
        return True

    async def save_reservation(self, reservation: Reservation) -> None:
        self.state.reservations[reservation.reservation_id] = replace(reservation)


class FakeUnitOfWork:
    """Works on a copy of the state and keeps it only on commit, like a transaction."""

    def __init__(self, state: FakeState) -> None:
        self.committed_state = state
        self.commits = 0
        self.repo = FakeUsageRepository(state)

    async def __aenter__(self) -> Self:
        self.repo = FakeUsageRepository(copy.deepcopy(self.committed_state))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.repo = FakeUsageRepository(self.committed_state)

    async def commit(self) -> None:
        self.committed_state.__dict__.update(self.repo.state.__dict__)
        self.commits += 1

    async def claim(self, consumer: str, event_id: str) -> bool:
        if (consumer, event_id) in self.repo.state.inbox:
            return False
        self.repo.state.inbox.add((consumer, event_id))
        return True

    async def publish(
        self, *, topic: str, key: str, ce_type: str, source: str, subject: str, message: Message
    ) -> str:
        self.repo.state.outbox.append(
            {
                "topic": topic,
                "key": key,
                "ce_type": ce_type,
                "source": source,
                "subject": subject,
                "message": message,
            }
        )
        return f"msg_{len(self.repo.state.outbox)}"
