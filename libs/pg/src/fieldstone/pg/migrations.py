"""A forward-only SQL migration runner.

Migrations are `NNN_name.sql` files applied in order, each in its own transaction, and
recorded in `schema_migrations`; an advisory lock lets several replicas start at once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import asyncpg

from fieldstone.common.logging import get_logger

_LOCK_ID = 0x6669656C64  # "field"
log = get_logger(__name__)


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.sql") if p.name[:3].isdigit())


async def migrate(pool: asyncpg.Pool, *directories: Path) -> list[str]:
    """Apply pending migrations from `directories` (in that order); return what ran."""
    applied: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       name text PRIMARY KEY,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {r["name"]: r["checksum"] for r in await conn.fetch("SELECT * FROM schema_migrations")}
            for directory in directories:
                for path in _files(directory):
                    name = f"{directory.parent.name}/{path.name}"
                    sql = path.read_text()
                    checksum = hashlib.sha256(sql.encode()).hexdigest()
                    if name in done:
                        if done[name] != checksum:
                            raise RuntimeError(
                                f"migration {name} changed after it was applied to this database: "
                                "applied migrations are never edited (add a new one); a disposable "
                                "local database can be dropped instead (make clean resets the local stack)"
                            )
                        continue
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute(
                            "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", name, checksum
                        )
                    applied.append(name)
                    log.info("migration applied", migration=name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    return applied
