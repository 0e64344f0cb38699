"""Plans and what each allows: the one definition every service asks for (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PLANS = ("free", "starter", "core", "pro")
_MIB = 1024 * 1024


@dataclass(frozen=True)
class PlanLimits:
    """What one plan allows. usage enforces `extractions_per_period`; files, extraction and the
    gateway enforce the others, reading them from `UsageService.GetPlanLimits`."""

    extractions_per_period: int
    max_file_bytes: int
    max_pages: int
    requests_per_minute: int
    batch_size: int

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value < 0:
                raise ValueError(f"{name} must not be negative")


DEFAULT_PLAN_LIMITS: Mapping[str, PlanLimits] = {
    "free": PlanLimits(
        extractions_per_period=50,
        max_file_bytes=10 * _MIB,
        max_pages=20,
        requests_per_minute=60,
        batch_size=10,
    ),
    "starter": PlanLimits(
        extractions_per_period=500,
        max_file_bytes=25 * _MIB,
        max_pages=100,
        requests_per_minute=300,
        batch_size=50,
    ),
    "core": PlanLimits(
        extractions_per_period=2_000,
        max_file_bytes=50 * _MIB,
        max_pages=300,
        requests_per_minute=1_200,
        batch_size=200,
    ),
    "pro": PlanLimits(
        extractions_per_period=10_000,
        max_file_bytes=100 * _MIB,
        max_pages=1_000,
        requests_per_minute=6_000,
        batch_size=1_000,
    ),
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

    def limits_of(self, plan: str | None) -> PlanLimits:
        return self.limits[self.resolve(plan)]

    def extraction_limit(self, plan: str | None) -> int:
        return self.limits_of(plan).extractions_per_period
