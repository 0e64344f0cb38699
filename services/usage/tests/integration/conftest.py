"""A migrated usage database per test (the root conftest creates and drops it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

from fieldstone.messaging import MIGRATIONS as MESSAGING_MIGRATIONS
from fieldstone.pg import create_pool, migrate
from fieldstone.usage.bootstrap import MIGRATIONS
from fieldstone.usage.domain.model import DEFAULT_PLAN_LIMITS, PlanCatalog, PlanLimits
from fieldstone.usage.service_layer.unit_of_work import UsageUnitOfWork


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, max_size=25)
    try:
        await migrate(pool, MESSAGING_MIGRATIONS, MIGRATIONS)
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def plans() -> PlanCatalog:
    """The free plan allows 5 extractions, so tests reach the limit quickly."""
    return PlanCatalog({**DEFAULT_PLAN_LIMITS, "free": PlanLimits(5, 1024, 10, 60, 5)}, default_plan="free")


@pytest.fixture
def uow(pool: asyncpg.Pool) -> Callable[[], UsageUnitOfWork]:
    return lambda: UsageUnitOfWork(pool)
