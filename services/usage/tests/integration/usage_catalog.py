"""Plan catalogs with small limits, so integration tests reach them quickly."""

from __future__ import annotations

from fieldstone.usage.domain.plans import DEFAULT_PLAN_LIMITS, PlanCatalog, PlanLimits


def small_catalog(free_extractions: int) -> PlanCatalog:
    free = PlanLimits(
        extractions_per_period=free_extractions,
        max_file_bytes=1024,
        max_pages=10,
        requests_per_minute=60,
        batch_size=5,
    )
    return PlanCatalog({**DEFAULT_PLAN_LIMITS, "free": free}, default_plan="free")
