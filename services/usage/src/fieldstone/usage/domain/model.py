"""Period usage, reservations and thresholds: the rules of the usage ledger (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from fieldstone.common.errors import QuotaExceeded
from fieldstone.common.time import iso
from fieldstone.usage.domain.periods import BillingPeriod

# Plans moved to domain/plans.py; still importable from here for existing callers.
from fieldstone.usage.domain.plans import DEFAULT_PLAN_LIMITS, PLANS, PlanCatalog, PlanLimits  # noqa: F401

# Share of the limit (percent) at which usage.threshold_reached is announced.
THRESHOLD_PERCENTS = (80, 100)


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

    def reserve(self, limit: int, *, plan: str, now: datetime) -> None:
        if not self.has_room(limit):
            period = BillingPeriod.of_key(self.period_key)
            resets_at = iso(period.ends_at)
            raise QuotaExceeded(
                f"extraction quota exceeded: the {plan} plan allows {limit} extractions per billing "
                f"period and {self.counted} are used or reserved in {self.period_key}; "
                f"the quota resets at {resets_at}",
                details={
                    "retry_after": period.seconds_left(now),
                    "limit": limit,
                    "usage": self.counted,
                    "periodKey": self.period_key,
                    "resetsAt": resets_at,
                },
            )
        self.reserved += 1

    def settle(self, outcome: Outcome) -> None:
        if self.reserved <= 0:
            raise ValueError(f"no reserved unit to settle in {self.workspace_id}/{self.period_key}")
        self.reserved -= 1
        if outcome is Outcome.CONSUMED:
            self.used += 1

    def thresholds_reached(self, limit: int) -> tuple[int, ...]:
        """The thresholds (percent of `limit`) the consumed units have reached; none for a zero limit."""
        if limit <= 0:
            return ()
        return tuple(p for p in THRESHOLD_PERCENTS if self.used * 100 >= p * limit)


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
    resets_at: datetime

    @classmethod
    def of(cls, plan: str, usage: PeriodUsage, limit: int) -> UsageSummary:
        ends = BillingPeriod.of_key(usage.period_key).ends_at
        return cls(plan, usage.period_key, usage.used, usage.reserved, limit, ends)

    @property
    def counted(self) -> int:
        return self.used + self.reserved

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.counted)


@dataclass(frozen=True)
class PlanChange:
    """The outcome of moving a workspace to a plan."""

    workspace_id: str
    plan: str
    previous_plan: str

    @property
    def changed(self) -> bool:
        return self.plan != self.previous_plan
