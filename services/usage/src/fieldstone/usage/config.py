"""usage settings, read once from USAGE_* environment variables."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from fieldstone.service import BaseServiceSettings
from fieldstone.usage.domain.plans import DEFAULT_PLAN_LIMITS, PLANS, PlanCatalog, PlanLimits


class UsageSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="USAGE_", frozen=True, extra="ignore")

    # The plan of a workspace this service has not (yet) heard of from auth.
    default_plan: str = "free"
    # JSON such as {"starter": {"extractions_per_period": 800}}; plans and fields left out keep their defaults.
    plan_limits: dict[str, PlanLimits] = Field(default_factory=lambda: dict(DEFAULT_PLAN_LIMITS))

    @field_validator("plan_limits", mode="before")
    @classmethod
    def _merge_with_defaults(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        unknown = sorted(set(value) - set(PLANS))
        if unknown:
            raise ValueError(f"unknown plans {unknown}; expected {', '.join(PLANS)}")
        merged: dict[str, Any] = {
            name: dataclasses.asdict(limits) for name, limits in DEFAULT_PLAN_LIMITS.items()
        }
        for name, given in value.items():
            merged[name] = merged[name] | given if isinstance(given, dict) else given
        return merged

    @field_validator("default_plan")
    @classmethod
    def _known_default(cls, value: str) -> str:
        if value not in PLANS:
            raise ValueError(f"{value!r} is not one of {', '.join(PLANS)}")
        return value

    def plan_catalog(self) -> PlanCatalog:
        return PlanCatalog(limits=dict(self.plan_limits), default_plan=self.default_plan)
