"""The runtime of one service process.

It owns the database pool (migrated at start), the Kafka producer, the outbox relay,
the consumers and the gRPC server, and stops them in order on SIGTERM/SIGINT so that
in-flight work either commits or is redelivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from fieldstone.common.logging import configure_logging, get_logger
from fieldstone.common.metrics import serve_metrics
from fieldstone.common.telemetry import configure_tracing, tracing_enabled
from fieldstone.grpc.server import GrpcServer
from fieldstone.messaging import MIGRATIONS as MESSAGING_MIGRATIONS
from fieldstone.messaging import EventConsumer, OutboxRelay, ensure_topics
from fieldstone.messaging.consumer import Handler
from fieldstone.pg import create_pool, ensure_database, migrate
from fieldstone.pg.tracing import instrument_queries
from fieldstone.service.admin import migrated_pool
from fieldstone.service.settings import BaseServiceSettings

log = get_logger(__name__)


class Runtime:
    def __init__(self, name: str, settings: BaseServiceSettings, migrations: Path) -> None:
        self.name = name
        self.settings = settings
        self.migrations = migrations
        self.stop = asyncio.Event()
        self.pool: asyncpg.Pool
        self.producer: AIOKafkaProducer
        self.grpc = GrpcServer(settings.grpc_port, settings.grpc_host)
        self._consumers: list[EventConsumer] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self._closers: list[Callable[[], Awaitable[Any]]] = []

    async def open(self) -> None:
        s = self.settings
        if s.create_database:
            await ensure_database(s.database_url)
        self.pool = await create_pool(s.database_url)
        if s.migrate_on_start:
            await migrate(self.pool, MESSAGING_MIGRATIONS, self.migrations)
        await ensure_topics(s.kafka())
        self.producer = AIOKafkaProducer(**s.kafka().client_options(), enable_idempotence=True, acks="all")
        await self.producer.start()

    def consume(
        self, purpose: str, topics: tuple[str, ...], handler: Handler, *, max_batch: int = 200
    ) -> None:
        group = f"{self.settings.group_prefix}.{self.name}.{purpose}"
        self._consumers.append(
            EventConsumer(
                bootstrap=self.settings.kafka(),
                group_id=group,
                topics=topics,
                handler=handler,
                max_batch=max_batch,
            )
        )

    def background(self, worker: Callable[[asyncio.Event], Coroutine[Any, Any, Any]]) -> None:
        """Run `worker(stop)` for the life of the process."""
        self._tasks.append(asyncio.create_task(worker(self.stop)))

    def on_close(self, closer: Callable[[], Awaitable[Any]]) -> None:
        self._closers.append(closer)

    async def serve(self) -> None:
        relay = OutboxRelay(self.pool, self.producer)
        self.background(relay.run)
        for consumer in self._consumers:
            self.background(consumer.run)
        await self.grpc.start()
        if self.settings.metrics_port:
            serve_metrics(self.settings.metrics_port, self.settings.metrics_host)
        log.info(
            "service started", grpc_port=self.grpc.bound_port, metrics_port=self.settings.metrics_port or None
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        stopper = asyncio.create_task(self.stop.wait())
        done, _ = await asyncio.wait([stopper, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopper and task.exception() is not None:
                log.error("background task died; shutting down", error=repr(task.exception()))
        self.stop.set()
        await self.close()

    async def close(self) -> None:
        log.info("service stopping")
        with contextlib.suppress(Exception):
            await self.grpc.stop()
        for task in self._tasks:
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(task, timeout=10)
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                await closer()
        with contextlib.suppress(Exception):
            await self.producer.stop()
        with contextlib.suppress(Exception):
            await self.pool.close()


def run(
    name: str, settings: BaseServiceSettings, migrations: Path, build: Callable[[Runtime], Awaitable[None]]
) -> None:
    """Entry point of a service process: logging, tracing, infrastructure, then `build` wires the
    service's servicers, consumers and workers onto the opened runtime, then it serves."""
    configure_logging(name, settings.log_level)
    if sys.argv[1:] == ["migrate"]:
        asyncio.run(migrate_only(settings, migrations))
        return
    configure_tracing(name)
    if tracing_enabled():
        instrument_queries()

    async def main() -> None:
        runtime = Runtime(name, settings, migrations)
        await runtime.open()
        await build(runtime)
        await runtime.serve()

    asyncio.run(main())


async def migrate_only(settings: BaseServiceSettings, migrations: Path) -> None:
    """`fieldstone-<service> migrate`: apply the schema and exit (the Helm migrations job)."""
    async with migrated_pool(settings.database_url, migrations, create_database=settings.create_database):
        log.info("migrations done")
