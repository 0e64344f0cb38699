"""Plans, period usage and reservations: the rules of the usage domain (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from fieldstone.common.errors import QuotaExceeded

PLANS = ("free", "starter", "core", "pro")
_MIB = 1024 * 1024


@dataclass(frozen=True)
class PlanLimits:
    """What one plan allows; only `extractions_per_period` is enforced here, the rest by other services."""

    extractions_per_period: int
    max_file_bytes: int
    max_pages: int
    requests_per_minute: int

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value < 0:
                raise ValueError(f"{name} must not be negative")


DEFAULT_PLAN_LIMITS: Mapping[str, PlanLimits] = {
    "free": PlanLimits(50, 10 * _MIB, 20, 60),
    "starter": PlanLimits(500, 25 * _MIB, 100, 120),
    "core": PlanLimits(2_000, 50 * _MIB, 300, 300),
    "pro": PlanLimits(10_000, 100 * _MIB, 1_000, 600),
}


@dataclass(frozen=True)
class PlanCatalog:
    limits: Mapping[str, PlanLimits]
    default_plan: str

    def __post_init__(self) -> None:
        if self.default_plan not in self.limits:
            raise ValueError(f"default plan {self.default_plan!r} has no limits")

    def resolve(self, plan: str | None) -> str:
        """The plan that applies: the workspace's own when known here, else the default."""
        return plan if plan is not None and plan in self.limits else self.default_plan

    def extraction_limit(self, plan: str | None) -> int:
        return self.limits[self.resolve(plan)].extractions_per_period


class ReservationStatus(StrEnum):
    RESERVED = "reserved"
    CONSUMED = "consumed"
    RELEASED = "released"


class Outcome(StrEnum):
    """How a reservation ends: the extraction completed (consumed) or did not (released)."""

    CONSUMED = "consumed"
    RELEASED = "released"


@dataclass
class PeriodUsage:
    """One workspace's counters for one billing period."""

    workspace_id: str
    period_key: str
    used: int = 0
    reserved: int = 0

    @property
    def counted(self) -> int:
        """Units held against the limit: consumed plus still reserved."""
        return self.used + self.reserved

    def has_room(self, limit: int) -> bool:
        return self.counted < limit

    def reserve(self, limit: int) -> None:
        if not self.has_room(limit):
            raise QuotaExceeded(
                f"workspace {self.workspace_id} has reached its limit of {limit} extractions "
                f"for period {self.period_key}",
                details={"limit": limit, "usage": self.counted, "periodKey": self.period_key},
            )
        self.reserved += 1

    def settle(self, outcome: Outcome) -> None:
        if self.reserved <= 0:
            raise ValueError(f"no reserved unit to settle in {self.workspace_id}/{self.period_key}")
        self.reserved -= 1
        if outcome is Outcome.CONSUMED:
            self.used += 1


@dataclass
class Reservation:
    """One unit held for one extraction; its id is the extraction id."""

    reservation_id: str
    workspace_id: str
    period_key: str
    status: ReservationStatus = ReservationStatus.RESERVED
    settled_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status is ReservationStatus.RESERVED

    def settle(self, outcome: Outcome, at: datetime) -> None:
        """Only a reserved unit moves; consumed and released are final."""
        if not self.is_open:
            raise ValueError(f"reservation {self.reservation_id} is already {self.status}")
        self.status = ReservationStatus(outcome.value)
        self.settled_at = at


@dataclass(frozen=True)
class UsageSummary:
    """What a workspace may see about one period."""

    plan: str
    period_key: str
    used: int
    reserved: int
    limit: int

    @classmethod
    def of(cls, plan: str, usage: PeriodUsage, limit: int) -> UsageSummary:
        return cls(plan, usage.period_key, usage.used, usage.reserved, limit)

    @property
    def counted(self) -> int:
        return self.used + self.reserved
