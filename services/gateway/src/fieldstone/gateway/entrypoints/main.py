"""`fieldstone-gateway`: the public HTTP API process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from pathlib import Path

import uvicorn

from fieldstone.common.logging import configure_logging, get_logger
from fieldstone.common.settings import load_settings
from fieldstone.common.telemetry import configure_tracing, tracing_enabled
from fieldstone.gateway.app import create_asgi
from fieldstone.gateway.clients import Clients
from fieldstone.gateway.config import GatewaySettings
from fieldstone.gateway.conventions import Context, purge_expired
from fieldstone.gateway.security import Authenticator, PlanLimits
from fieldstone.messaging import MIGRATIONS as MESSAGING_MIGRATIONS
from fieldstone.messaging import EventConsumer, InboundMessage, Topics
from fieldstone.pg import create_pool, ensure_database, migrate
from fieldstone.pg.tracing import instrument_queries
from fieldstone.proto.events.v1 import events_pb2
from fieldstone.service.admin import migrated_pool

MIGRATIONS = Path(__file__).parents[1] / "migrations"
log = get_logger(__name__)


async def serve(settings: GatewaySettings) -> None:
    if settings.create_database:
        await ensure_database(settings.database_url)
    pool = await create_pool(settings.database_url, max_size=5)
    if settings.migrate_on_start:
        await migrate(pool, MESSAGING_MIGRATIONS, MIGRATIONS)
    clients = Clients.connect(settings)
    authenticator = Authenticator(clients.auth, settings.auth_cache_seconds)

    limits = PlanLimits(
        clients.usage, settings.plan_requests_per_minute, settings.anonymous_requests_per_minute
    )

    async def on_auth_event(message: InboundMessage) -> None:
        if message.event is None:
            return
        if message.event.type == "fieldstone.api_key.revoked.v1":
            authenticator.evict(events_pb2.ApiKeyChanged.FromString(message.event.data).key_hash)
        elif message.event.type == "fieldstone.workspace_plan.changed.v1":
            limits.forget(events_pb2.WorkspacePlanChanged.FromString(message.event.data).workspace_id)

    # Every replica must see every revocation, so each process has a consumer group of its own.
    group = f"{settings.group_prefix}.gateway.auth.{socket.gethostname()}.{os.getpid()}"
    consumer = EventConsumer(
        bootstrap=settings.kafka(),
        group_id=group,
        topics=(Topics.AUTH, Topics.USAGE),
        handler=on_auth_event,
    )
    stop = asyncio.Event()
    consumer_task = asyncio.create_task(consumer.run(stop))
    ctx = Context(
        pool=pool,
        authenticator=authenticator,
        plan_rpm=limits.requests_per_minute,
        anonymous_rpm=settings.anonymous_requests_per_minute,
    )

    async def purge(stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):
                await purge_expired(pool)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(300):
                    await stop.wait()

    purge_task = asyncio.create_task(purge(stop))
    config = uvicorn.Config(
        create_asgi(clients, ctx, max_upload_bytes=settings.max_upload_bytes),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    log.info("gateway starting", port=settings.http_port)
    try:
        await server.serve()
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(consumer_task, purge_task), timeout=10)
        await clients.close()
        await pool.close()


async def migrate_only(settings: GatewaySettings) -> None:
    async with migrated_pool(settings.database_url, MIGRATIONS, create_database=settings.create_database):
        log.info("migrations done")


def main() -> None:
    settings = load_settings(GatewaySettings)
    configure_logging("gateway", settings.log_level)
    if sys.argv[1:] == ["migrate"]:
        asyncio.run(migrate_only(settings))
        return
    configure_tracing("gateway")
    if tracing_enabled():
        instrument_queries()
    asyncio.run(serve(settings))
