"""The unit of work: one connection, one transaction, committed explicitly.

Service units of work subclass it to expose their repositories; the outbox writes on
the same connection, so a state change and its events commit or roll back together.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import asyncpg


class UnitOfWork:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._conn: Any = None
        self._tx: Any = None

    @property
    def conn(self) -> asyncpg.Connection:
        if self._conn is None:
            raise RuntimeError("unit of work used outside `async with`")
        conn: asyncpg.Connection = self._conn
        return conn

    async def __aenter__(self) -> Self:
        self._conn = await self._pool.acquire()
        self._tx = self._conn.transaction()
        await self._tx.start()
        self._started()
        return self

    def _started(self) -> None:
        """Hook for subclasses to build repositories on `self.conn`."""

    async def commit(self) -> None:
        await self._tx.commit()
        self._tx = None

    async def rollback(self) -> None:
        if self._tx is not None:
            await self._tx.rollback()
            self._tx = None

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.rollback()  # no-op after commit(): uncommitted work never leaks
        finally:
            await self._pool.release(self._conn)
            self._conn = None
