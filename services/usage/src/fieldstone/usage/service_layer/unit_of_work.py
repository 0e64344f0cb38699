"""One transaction holding the usage tables, the inbox and the outbox together.

Handlers depend on the protocol, so unit tests can pass a fake; the real unit of work
claims inbox entries and writes outbox rows on its own connection.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from google.protobuf.message import Message

from fieldstone.messaging import claim, publish
from fieldstone.pg import UnitOfWork
from fieldstone.usage.adapters.repository import AbstractUsageRepository, UsageRepository


class AbstractUsageUnitOfWork(Protocol):
    @property
    def repo(self) -> AbstractUsageRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...

    async def claim(self, consumer: str, event_id: str) -> bool:
        """Record an inbound event as processed; False if it already was."""
        ...

    async def publish(
        self, *, topic: str, key: str, ce_type: str, source: str, subject: str, message: Message
    ) -> str:
        """Add an event to the outbox; it is sent only if the unit of work commits."""
        ...


class UsageUnitOfWork(UnitOfWork):
    repo: UsageRepository

    def _started(self) -> None:
        self.repo = UsageRepository(self.conn)

    async def claim(self, consumer: str, event_id: str) -> bool:
        return await claim(self.conn, consumer, event_id)

    async def publish(
        self, *, topic: str, key: str, ce_type: str, source: str, subject: str, message: Message
    ) -> str:
        return await publish(
            self.conn, topic=topic, key=key, ce_type=ce_type, source=source, subject=subject, message=message
        )
