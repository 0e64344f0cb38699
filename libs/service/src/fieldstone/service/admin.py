"""Helpers for the one-shot commands of a service: `<service> migrate` and the admin CLIs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import asyncpg

from fieldstone.common.errors import FieldstoneError
from fieldstone.common.logging import configure_logging
from fieldstone.messaging import MIGRATIONS as MESSAGING_MIGRATIONS
from fieldstone.pg import create_pool, ensure_database, migrate


@contextlib.asynccontextmanager
async def migrated_pool(
    database_url: str, migrations: Path, *, create_database: bool = False
) -> AsyncIterator[asyncpg.Pool]:
    """A small pool on the service's database, its schema brought up to date first."""
    if create_database:
        await ensure_database(database_url)
    pool = await create_pool(database_url, max_size=2)
    try:
        await migrate(pool, MESSAGING_MIGRATIONS, migrations)
        yield pool
    finally:
        await pool.close()


def run_json_command(command: Coroutine[Any, Any, dict[str, Any]], *, service: str) -> int:
    """Run an admin command: its result as one JSON line on stdout (exit 0), or the error
    envelope on stderr (exit 2). Its log lines (migrations...) are JSON on stderr, so stdout
    carries the result alone."""
    level = os.environ.get(f"{service.upper()}_LOG_LEVEL", "INFO")
    configure_logging(f"{service}-admin", level, stream=sys.stderr)
    try:
        result = asyncio.run(command)
    except FieldstoneError as exc:
        sys.stderr.write(json.dumps({"error": {"code": exc.code, "message": exc.message}}) + "\n")
        return 2
    sys.stdout.write(json.dumps(result) + "\n")
    return 0
