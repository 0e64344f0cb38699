"""asyncpg pool, unit of work and migrations for a service's own database."""

from fieldstone.pg.migrations import migrate
from fieldstone.pg.pool import create_pool, ensure_database
from fieldstone.pg.uow import UnitOfWork

__all__ = ["UnitOfWork", "create_pool", "ensure_database", "migrate"]
