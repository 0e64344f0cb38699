"""The webhooks service against the real Postgres and a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from ipaddress import ip_network

import asyncpg
import pytest
import standardwebhooks.webhooks
from google.protobuf.timestamp_pb2 import Timestamp

from fieldstone.common.errors import FieldstoneError
from fieldstone.common.time import utcnow
from fieldstone.grpc import GrpcServer, call, insecure_channel
from fieldstone.messaging import MIGRATIONS as MESSAGING_MIGRATIONS
from fieldstone.messaging import CloudEvent, InboundMessage, Topics
from fieldstone.pg import create_pool, migrate
from fieldstone.proto.events.v1 import events_pb2
from fieldstone.proto.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from fieldstone.webhooks.adapters.secret_box import SecretBox
from fieldstone.webhooks.adapters.sender import REFUSED, WebhookSender
from fieldstone.webhooks.bootstrap import MIGRATIONS
from fieldstone.webhooks.config import WebhooksSettings
from fieldstone.webhooks.domain.destinations import Network
from fieldstone.webhooks.domain.model import Endpoint
from fieldstone.webhooks.entrypoints.consumer import ExtractionEventsHandler
from fieldstone.webhooks.entrypoints.grpc_servicer import WebhooksServicer
from fieldstone.webhooks.service_layer import handlers
from fieldstone.webhooks.service_layer.dispatcher import DeliveryDispatcher
from fieldstone.webhooks.service_layer.unit_of_work import WebhooksUnitOfWork

pytestmark = pytest.mark.integration

LOOPBACK: tuple[Network, ...] = (ip_network("127.0.0.0/8"),)
API = "https://api.fieldstone.test"
WS = "ws_01JD2Z0000000000000000WS01"


# --- a tiny HTTP/1.1 receiver ------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each request with the next status of `statuses` (the last one repeats)."""

    statuses: list[int]
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/fieldstone"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

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
            self.requests.append(Received(path, headers, body))
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            text = b"oops" if status >= 400 else b"ok"
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: {len(text)}\r\nConnection: close\r\n\r\n".encode()
                + text
            )
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Callable[[list[int]], Awaitable[Receiver]]]:
    started: list[Receiver] = []

    async def start(statuses: list[int]) -> Receiver:
        r = Receiver(statuses)
        await r.start()
        started.append(r)
        return r

    yield start
    for r in started:
        await r.close()


# --- the service's parts, wired as bootstrap.py does ------------------------------------------


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, max_size=5)
    await migrate(pool, MESSAGING_MIGRATIONS, MIGRATIONS)
    yield pool
    await pool.close()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(os.urandom(32))


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
) -> AsyncIterator[None]:
    """Dispatchers running in the background, as runtime.background runs them."""
    sender = WebhookSender(timeout_seconds=5, allowed_networks=allowed)
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(
            DeliveryDispatcher(uow_factory(pool), sender, box, schedule=schedule, poll_seconds=0.02).run(stop)
        )
        for _ in range(instances)
    ]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await sender.aclose()


async def eventually(check: Callable[[], Awaitable[bool]], deadline_seconds: float = 5.0) -> None:
    deadline = time.monotonic() + deadline_seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.02)


async def create_endpoint(
    pool: asyncpg.Pool, box: SecretBox, url: str, *, allowed: tuple[Network, ...] = LOOPBACK
) -> tuple[Endpoint, str]:
    return await handlers.create_endpoint(
        WebhooksUnitOfWork(pool),
        box,
        workspace_id=WS,
        url=url,
        event_types=[],
        description="ERP",
        created_by="sa_01JD2Z0000000000000000SA01",
        allow_insecure_http=True,
        allowed_networks=allowed,
    )


def extraction_message(ce_id: str, ce_type: str = "fieldstone.extraction.completed.v1") -> InboundMessage:
    occurred_at = Timestamp()
    occurred_at.FromDatetime(utcnow())
    data = events_pb2.ExtractionStatusChanged(
        extraction_id="ext_01JD2Z0000000000000000EX01",
        workspace_id=WS,
        file_id="file_01JD2Z0000000000000000FI01",
        template_id="tpl_01JD2Z0000000000000000TP01",
        status=ce_type.split(".")[2],
        occurred_at=occurred_at,
    ).SerializeToString()
    event = CloudEvent(
        id=ce_id, source="/fieldstone/extraction", type=ce_type, subject="ext_1", time=utcnow(), data=data
    )
    return InboundMessage(Topics.EXTRACTIONS, 0, 0, b"ext_1", data, event)


async def delivery_status(pool: asyncpg.Pool) -> str:
    status: str = await pool.fetchval("SELECT status FROM deliveries")
    return status


# --- tests -------------------------------------------------------------------------------------


async def test_extraction_event_becomes_exactly_one_signed_delivery(
    pool: asyncpg.Pool, box: SecretBox, receiver: Callable[[list[int]], Awaitable[Receiver]]
) -> None:
    hook = await receiver([204])
    endpoint, secret = await create_endpoint(pool, box, hook.url)
    handler = ExtractionEventsHandler(uow_factory(pool), API)

    await handler(extraction_message("msg_same"))
    await handler(extraction_message("msg_same"))  # redelivered by Kafka

    assert await pool.fetchval("SELECT count(*) FROM webhook_events") == 1
    assert await pool.fetchval("SELECT count(*) FROM deliveries") == 1
    async with dispatching(pool, box):
        await eventually(lambda: _is(delivery_status(pool), "delivered"))

    (request,) = hook.requests
    event_id = await pool.fetchval("SELECT id FROM webhook_events")
    assert request.path == "/hooks/fieldstone"
    assert request.headers["webhook-id"] == event_id
    assert request.headers["content-type"] == "application/json"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    body = standardwebhooks.webhooks.Webhook(secret).verify(request.body, request.headers)
    assert body["type"] == "extraction.completed"
    assert body["data"]["extractionId"] == "ext_01JD2Z0000000000000000EX01"
    assert body["data"]["status"] == "completed"
    assert body["data"]["resultUrl"] == f"{API}/v1/extractions/ext_01JD2Z0000000000000000EX01/result"
    assert list(body) == ["type", "timestamp", "data"]

    sealed = await pool.fetchval("SELECT secret_ciphertext FROM endpoints WHERE id = $1", endpoint.id)
    assert secret.encode() not in sealed
    outbox = await pool.fetchrow("SELECT * FROM outbox")
    assert (outbox["topic"], outbox["ce_type"], outbox["ce_source"]) == (
        Topics.WEBHOOKS,
        "fieldstone.webhook.delivered.v1",
        "/fieldstone/webhooks",
    )
    changed = events_pb2.WebhookDeliveryChanged.FromString(outbox["payload"])
    assert (changed.event_id, changed.endpoint_id, changed.status, changed.attempts) == (
        event_id,
        endpoint.id,
        "delivered",
        1,
    )


async def test_events_webhooks_do_not_announce_are_ignored(pool: asyncpg.Pool, box: SecretBox) -> None:
    await create_endpoint(pool, box, "https://hooks.example.com/in")  # completed + failed only
    handler = ExtractionEventsHandler(uow_factory(pool), API)
    await handler(extraction_message("msg_1", "fieldstone.extraction.queued.v1"))
    await handler(InboundMessage(Topics.EXTRACTIONS, 0, 1, None, b"raw", None))
    assert await pool.fetchval("SELECT count(*) FROM webhook_events") == 0

    await handler(extraction_message("msg_2", "fieldstone.extraction.canceled.v1"))
    assert await pool.fetchval("SELECT type FROM webhook_events") == "extraction.canceled"
    assert await pool.fetchval("SELECT count(*) FROM deliveries") == 0  # nobody subscribed


async def test_failed_attempt_is_retried_and_get_event_shows_every_attempt(
    pool: asyncpg.Pool, box: SecretBox, receiver: Callable[[list[int]], Awaitable[Receiver]]
) -> None:
    hook = await receiver([500, 200])
    endpoint, secret = await create_endpoint(pool, box, hook.url)
    await ExtractionEventsHandler(uow_factory(pool), API)(extraction_message("msg_1"))

    async with dispatching(pool, box, schedule=(0.0, 0.1)):
        await eventually(lambda: _is(delivery_status(pool), "delivered"))

    assert len(hook.requests) == 2
    assert hook.requests[0].headers["webhook-id"] == hook.requests[1].headers["webhook-id"]
    for request in hook.requests:
        standardwebhooks.webhooks.Webhook(secret).verify(request.body, request.headers)

    settings = WebhooksSettings(
        database_url="unused",
        kafka_bootstrap="unused",
        grpc_port=0,
        secret_key=base64.b64encode(os.urandom(32)).decode(),
        allow_insecure_http=True,
    )
    server = GrpcServer(0)
    server.add(
        webhooks_pb2_grpc.add_WebhookServiceServicer_to_server,
        WebhooksServicer(uow_factory(pool), box, settings),
        "fieldstone.webhooks.v1.WebhookService",
    )
    await server.start()
    channel = insecure_channel(f"127.0.0.1:{server.bound_port}")
    try:
        stub = webhooks_pb2_grpc.WebhookServiceStub(channel)
        listed = await call(stub.ListEvents, webhooks_pb2.ListEventsRequest(workspace_id=WS))
        (summary,) = listed.events
        assert listed.next_cursor == ""
        got = await call(stub.GetEvent, webhooks_pb2.GetEventRequest(workspace_id=WS, event_id=summary.id))
        (delivery,) = got.event.deliveries
        assert (delivery.endpoint_id, delivery.status) == (endpoint.id, "delivered")
        assert [(a.number, a.status_code, a.response_excerpt) for a in delivery.attempts] == [
            (1, 500, "oops"),
            (2, 200, "ok"),
        ]
        assert json.loads(got.event.payload_json)["type"] == "extraction.completed"
        with pytest.raises(FieldstoneError) as not_found:
            await call(
                stub.GetEvent, webhooks_pb2.GetEventRequest(workspace_id="ws_other", event_id=summary.id)
            )
        assert not_found.value.code == "NOT_FOUND"
        endpoints = await call(stub.ListEndpoints, webhooks_pb2.ListEndpointsRequest(workspace_id=WS))
        assert [(e.id, e.created_by) for e in endpoints.endpoints] == [
            (endpoint.id, "sa_01JD2Z0000000000000000SA01")
        ]
        created = await call(
            stub.CreateEndpoint,
            webhooks_pb2.CreateEndpointRequest(workspace_id=WS, url="https://hooks.example.com/b"),
        )
        assert created.secret.startswith("whsec_")
        assert list(created.endpoint.event_types) == ["extraction.completed", "extraction.failed"]
        with pytest.raises(FieldstoneError, match="unknown event types") as invalid:
            await call(
                stub.CreateEndpoint,
                webhooks_pb2.CreateEndpointRequest(
                    workspace_id=WS, url="https://hooks.example.com/c", event_types=["extraction.started"]
                ),
            )
        assert invalid.value.code == "VALIDATION_ERROR"
    finally:
        await channel.close()
        await server.stop(0)


async def test_refused_destination_is_a_failed_attempt(
    pool: asyncpg.Pool, box: SecretBox, receiver: Callable[[list[int]], Awaitable[Receiver]]
) -> None:
    hook = await receiver([200])
    # A host name passes when the endpoint is saved; it resolves to loopback when delivering.
    await create_endpoint(pool, box, f"http://localhost:{hook.port}/hook", allowed=())
    await ExtractionEventsHandler(uow_factory(pool), API)(extraction_message("msg_1"))

    async with dispatching(pool, box, allowed=(), schedule=(0.0,)):
        await eventually(lambda: _is(delivery_status(pool), "failed"))

    assert hook.requests == []
    attempt = await pool.fetchrow("SELECT * FROM attempts")
    assert (attempt["number"], attempt["status_code"], attempt["error"]) == (1, None, REFUSED)
    assert await pool.fetchval("SELECT ce_type FROM outbox") == "fieldstone.webhook.failed.v1"


async def test_claimed_delivery_is_hidden_until_its_lease_ends(pool: asyncpg.Pool, box: SecretBox) -> None:
    await create_endpoint(pool, box, "https://hooks.example.com/in")
    await ExtractionEventsHandler(uow_factory(pool), API)(extraction_message("msg_1"))

    async def claim(lease: float) -> int:
        async with WebhooksUnitOfWork(pool) as uow:
            claimed = await uow.repo.claim_due(10, lease)
            await uow.commit()
        return len(claimed)

    assert await claim(0.3) == 1  # ... and the dispatcher dies before recording the attempt
    assert await claim(0.3) == 0
    await eventually(lambda: _is(claim(0.3), 1))  # not lost: due again once the lease ends


async def test_concurrent_dispatchers_send_each_delivery_once(
    pool: asyncpg.Pool, box: SecretBox, receiver: Callable[[list[int]], Awaitable[Receiver]]
) -> None:
    hook = await receiver([200])
    await create_endpoint(pool, box, hook.url)
    handler = ExtractionEventsHandler(uow_factory(pool), API)
    for i in range(10):
        await handler(extraction_message(f"msg_{i}"))

    async def all_delivered() -> bool:
        delivered: int = await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'delivered'")
        return delivered == 10

    async with dispatching(pool, box, instances=3):
        await eventually(all_delivered)

    assert len(hook.requests) == 10
    assert len({r.headers["webhook-id"] for r in hook.requests}) == 10
    assert await pool.fetchval("SELECT count(*) FROM attempts") == 10


async def _is(value: Awaitable[object], expected: object) -> bool:
    return bool(await value == expected)
