"""Helpers of the webhooks integration tests: a scriptable receiver and the service's parts wired as
bootstrap.py wires them, against the real Postgres."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import ip_network

import asyncpg

from fieldstone.common.time import utcnow
from fieldstone.grpc.convert import to_timestamp
from fieldstone.messaging import CloudEvent, InboundMessage, Topics
from fieldstone.proto.events.v1 import events_pb2
from fieldstone.webhooks.adapters.due_signal import listening
from fieldstone.webhooks.adapters.secret_box import SecretBox
from fieldstone.webhooks.adapters.sender import WebhookSender
from fieldstone.webhooks.domain.destinations import Network
from fieldstone.webhooks.domain.model import Endpoint
from fieldstone.webhooks.entrypoints.consumer import ExtractionEventsHandler
from fieldstone.webhooks.service_layer import handlers
from fieldstone.webhooks.service_layer.dispatcher import DeliveryDispatcher
from fieldstone.webhooks.service_layer.unit_of_work import WebhooksUnitOfWork

LOOPBACK: tuple[Network, ...] = (ip_network("127.0.0.0/8"),)
API = "https://api.fieldstone.test"
WS = "ws_01JD2Z0000000000000000WS01"
SA = "sa_01JD2Z0000000000000000SA01"
HANG = -1  # a "status" that makes the receiver hold the request until released


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """Answers each request with the next of `statuses` (the last one repeats); HANG holds it."""

    statuses: list[int]
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/fieldstone"

    async def start(self, port: int = 0) -> None:
        self.released = asyncio.Event()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self.released.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            _, path, _ = head[0].split(" ", 2)
            headers = {}
            for line in head[1:]:
                if line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Received(path, headers, body, time.monotonic()))
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            if status == HANG:
                await self.released.wait()
                return
            text = b"oops" if status >= 400 else b"" if status in (204, 304) else b"ok"  # 204: no body
            extra = "Retry-After: 0\r\n" if status == 429 else ""
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: {len(text)}\r\n{extra}Connection: close\r\n\r\n".encode()
                + text
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


Receivers = Callable[[list[int]], Awaitable[Receiver]]


@contextlib.asynccontextmanager
async def receivers() -> AsyncIterator[Receivers]:
    started: list[Receiver] = []

    async def start(statuses: list[int]) -> Receiver:
        r = Receiver(statuses)
        await r.start()
        started.append(r)
        return r

    try:
        yield start
    finally:
        for r in started:
            await r.close()


def uow_factory(pool: asyncpg.Pool) -> Callable[[], WebhooksUnitOfWork]:
    return lambda: WebhooksUnitOfWork(pool)


@contextlib.asynccontextmanager
async def dispatching(
    pool: asyncpg.Pool,
    box: SecretBox,
    *,
    allowed: tuple[Network, ...] = LOOPBACK,
    schedule: tuple[float, ...] = (0.0, 0.1),
    instances: int = 1,
    attempt_timeout: float = 5.0,
    lease: float = 10.0,
    endpoint_concurrency: int = 20,
    disable_after: float = 432_000.0,
) -> AsyncIterator[None]:
    """Dispatchers running in the background, as runtime.background runs them."""
    sender = WebhookSender(timeout_seconds=attempt_timeout, allowed_networks=allowed)
    stop = asyncio.Event()

    def listen(wake: Callable[[], None]) -> contextlib.AbstractAsyncContextManager[None]:
        return listening(pool, wake)

    tasks = [
        asyncio.create_task(
            DeliveryDispatcher(
                uow_factory(pool),
                sender,
                box,
                schedule=schedule,
                poll_seconds=0.05,
                lease_seconds=lease,
                endpoint_concurrency=endpoint_concurrency,
                disable_after_failing_seconds=disable_after,
                listen=listen,
            ).run(stop)
        )
        for _ in range(instances)
    ]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await sender.aclose()


async def eventually(check: Callable[[], Awaitable[bool]], deadline_seconds: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.02)


async def create_endpoint(
    pool: asyncpg.Pool,
    box: SecretBox,
    url: str,
    *,
    allowed: tuple[Network, ...] = LOOPBACK,
    event_types: list[str] | None = None,
) -> tuple[Endpoint, str]:
    return await handlers.create_endpoint(
        WebhooksUnitOfWork(pool),
        box,
        workspace_id=WS,
        url=url,
        event_types=event_types or [],
        description="ERP",
        created_by=SA,
        policy=handlers.UrlPolicy(True, allowed),
    )


def extraction_message(
    ce_id: str,
    ce_type: str = "fieldstone.extraction.completed.v1",
    extraction_id: str = "ext_01JD2Z0000000000000000EX01",
    occurred: datetime | None = None,
) -> InboundMessage:
    occurred_at = to_timestamp(occurred or utcnow())
    data = events_pb2.ExtractionStatusChanged(
        extraction_id=extraction_id,
        workspace_id=WS,
        file_id="file_01JD2Z0000000000000000FI01",
        template_id="tpl_01JD2Z0000000000000000TP01",
        status=ce_type.split(".")[2],
        occurred_at=occurred_at,
    ).SerializeToString()
    event = CloudEvent(
        id=ce_id,
        source="/fieldstone/extraction",
        type=ce_type,
        subject=extraction_id,
        time=utcnow(),
        data=data,
    )
    return InboundMessage(Topics.EXTRACTIONS, 0, 0, extraction_id.encode(), data, event)


async def publish_extraction(pool: asyncpg.Pool, ce_id: str, **kw: str) -> None:
    await ExtractionEventsHandler(uow_factory(pool), API)(extraction_message(ce_id, **kw))


async def scalar(pool: asyncpg.Pool, sql: str, *args: object) -> object:
    return await pool.fetchval(sql, *args)


async def equals(value: Awaitable[object], expected: object) -> bool:
    return bool(await value == expected)
