"""WebhookService over real gRPC and Postgres: endpoint lifecycle, the event log and its filters."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from webhooks_support import WS, publish_extraction, uow_factory

from fieldstone.common.errors import FieldstoneError
from fieldstone.grpc import GrpcServer, call, insecure_channel
from fieldstone.messaging import MIGRATIONS as MESSAGING_MIGRATIONS
from fieldstone.pg import create_pool, migrate
from fieldstone.proto.webhooks.v1 import webhooks_pb2 as pb
from fieldstone.proto.webhooks.v1 import webhooks_pb2_grpc
from fieldstone.webhooks.adapters.secret_box import SecretBox
from fieldstone.webhooks.bootstrap import MIGRATIONS
from fieldstone.webhooks.config import WebhooksSettings
from fieldstone.webhooks.entrypoints.grpc_servicer import WebhooksServicer

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, max_size=5)
    await migrate(pool, MESSAGING_MIGRATIONS, MIGRATIONS)
    yield pool
    await pool.close()


@pytest.fixture
async def stub(pool: asyncpg.Pool) -> AsyncIterator[Any]:
    settings = WebhooksSettings(
        database_url="unused",
        kafka_bootstrap="unused",
        grpc_port=0,
        secret_key=base64.b64encode(os.urandom(32)).decode(),
        allow_insecure_http=True,
        rotation_overlap_seconds=3600,
    )
    server = GrpcServer(0)
    server.add(
        webhooks_pb2_grpc.add_WebhookServiceServicer_to_server,
        WebhooksServicer(uow_factory(pool), SecretBox(settings.secret_key_bytes), settings),
        "fieldstone.webhooks.v1.WebhookService",
    )
    await server.start()
    channel = insecure_channel(f"127.0.0.1:{server.bound_port}")
    try:
        yield webhooks_pb2_grpc.WebhookServiceStub(channel)
    finally:
        await channel.close()
        await server.stop(0)


async def _code(coro: Any) -> str:
    with pytest.raises(FieldstoneError) as raised:
        await coro
    return raised.value.code


async def test_endpoint_lifecycle(pool: asyncpg.Pool, stub: Any) -> None:
    created = await call(
        stub.CreateEndpoint,
        pb.CreateEndpointRequest(workspace_id=WS, url="https://hooks.example.com/a", description=" ERP "),
    )
    ep = created.endpoint
    assert created.secret.startswith("whsec_")
    assert (ep.enabled, ep.description, list(ep.event_types)) == (
        True,
        "ERP",
        ["extraction.completed", "extraction.failed"],
    )
    await publish_extraction(pool, "msg_1")
    assert await pool.fetchval("SELECT count(*) FROM webhook_events WHERE status = 'pending'") == 1

    updated = await call(
        stub.UpdateEndpoint,
        pb.UpdateEndpointRequest(
            workspace_id=WS,
            endpoint_id=ep.id,
            url="https://hooks.example.com/b",
            enabled=False,
            event_types=pb.EventTypes(values=["extraction.canceled"]),
        ),
    )
    e = updated.endpoint
    assert (e.url, e.enabled, e.disabled_reason, list(e.event_types), e.description) == (
        "https://hooks.example.com/b",
        False,
        "manual",
        ["extraction.canceled"],
        "ERP",
    )
    # Disabling ended what was pending, and announced it.
    assert await pool.fetchval("SELECT status FROM webhook_events") == "failed"
    assert await pool.fetchval("SELECT ce_type FROM outbox") == "fieldstone.webhook.failed.v1"
    event_id = await pool.fetchval("SELECT id FROM webhook_events")
    assert (
        await _code(call(stub.ReplayEvent, pb.ReplayEventRequest(workspace_id=WS, event_id=event_id)))
        == "CONFLICT"
    )

    enabled = await call(
        stub.UpdateEndpoint, pb.UpdateEndpointRequest(workspace_id=WS, endpoint_id=ep.id, enabled=True)
    )
    assert (
        enabled.endpoint.enabled,
        enabled.endpoint.disabled_reason,
        enabled.endpoint.HasField("disabled_at"),
    ) == (
        True,
        "",
        False,
    )
    replayed = await call(stub.ReplayEvent, pb.ReplayEventRequest(workspace_id=WS, event_id=event_id))
    assert (replayed.event.id, replayed.event.status) == (event_id, "pending")

    rotated = await call(
        stub.RotateEndpointSecret, pb.RotateEndpointSecretRequest(workspace_id=WS, endpoint_id=ep.id)
    )
    assert rotated.secret.startswith("whsec_") and rotated.secret != created.secret
    assert rotated.endpoint.HasField("secret_rotated_at")
    overlap = (
        rotated.endpoint.previous_secret_expires_at.ToSeconds()
        - rotated.endpoint.secret_rotated_at.ToSeconds()
    )
    assert 3590 <= overlap <= 3610
    listed = await call(stub.ListEndpoints, pb.ListEndpointsRequest(workspace_id=WS))
    assert [x.id for x in listed.endpoints] == [ep.id]
    assert "whsec_" not in str(listed)

    await call(stub.DeleteEndpoint, pb.DeleteEndpointRequest(workspace_id=WS, endpoint_id=ep.id))
    assert (
        await _code(call(stub.GetEndpoint, pb.GetEndpointRequest(workspace_id=WS, endpoint_id=ep.id)))
        == "NOT_FOUND"
    )
    assert (await call(stub.ListEndpoints, pb.ListEndpointsRequest(workspace_id=WS))).endpoints == []
    row = await pool.fetchrow("SELECT secret_ciphertext, previous_secret_ciphertext FROM endpoints")
    assert tuple(row) == (None, None)
    # The log outlives the endpoint.
    got = await call(stub.GetEvent, pb.GetEventRequest(workspace_id=WS, event_id=event_id))
    assert (got.event.endpoint_id, got.event.status) == (ep.id, "failed")
    assert (
        await _code(call(stub.ReplayEvent, pb.ReplayEventRequest(workspace_id=WS, event_id=event_id)))
        == "CONFLICT"
    )


@pytest.mark.parametrize(
    "request_",
    [
        pb.CreateEndpointRequest(workspace_id=WS, url="ftp://hooks.example.com/"),
        pb.CreateEndpointRequest(workspace_id=WS, url="https://10.0.0.1/"),
        pb.CreateEndpointRequest(
            workspace_id=WS, url="https://hooks.example.com/", event_types=["extraction.started"]
        ),
        pb.CreateEndpointRequest(workspace_id=WS, url="https://hooks.example.com/", description="x" * 501),
    ],
)
async def test_invalid_endpoints_are_refused(stub: Any, request_: Any) -> None:
    assert await _code(call(stub.CreateEndpoint, request_)) == "VALIDATION_ERROR"


async def test_other_workspaces_see_nothing(stub: Any, pool: asyncpg.Pool) -> None:
    ep = (
        await call(
            stub.CreateEndpoint, pb.CreateEndpointRequest(workspace_id=WS, url="https://h.example.com/")
        )
    ).endpoint
    await publish_extraction(pool, "msg_1")
    event_id = await pool.fetchval("SELECT id FROM webhook_events")
    other = "ws_01JD2Z0000000000000000WS02"
    for rpc, request in [
        (stub.GetEndpoint, pb.GetEndpointRequest(workspace_id=other, endpoint_id=ep.id)),
        (stub.UpdateEndpoint, pb.UpdateEndpointRequest(workspace_id=other, endpoint_id=ep.id, enabled=False)),
        (stub.DeleteEndpoint, pb.DeleteEndpointRequest(workspace_id=other, endpoint_id=ep.id)),
        (stub.RotateEndpointSecret, pb.RotateEndpointSecretRequest(workspace_id=other, endpoint_id=ep.id)),
        (stub.GetEvent, pb.GetEventRequest(workspace_id=other, event_id=event_id)),
        (stub.ReplayEvent, pb.ReplayEventRequest(workspace_id=other, event_id=event_id)),
    ]:
        assert await _code(call(rpc, request)) == "NOT_FOUND"
    assert (await call(stub.ListEvents, pb.ListEventsRequest(workspace_id=other))).events == []


async def test_event_list_filters_and_pages(stub: Any, pool: asyncpg.Pool) -> None:
    a = (
        await call(
            stub.CreateEndpoint, pb.CreateEndpointRequest(workspace_id=WS, url="https://a.example.com/")
        )
    ).endpoint
    b = (
        await call(
            stub.CreateEndpoint, pb.CreateEndpointRequest(workspace_id=WS, url="https://b.example.com/")
        )
    ).endpoint
    for i in range(3):
        await publish_extraction(pool, f"msg_c{i}", extraction_id=f"ext_01JD2Z0000000000000000C{i:03d}")
    await publish_extraction(pool, "msg_f", ce_type="fieldstone.extraction.failed.v1")
    await pool.execute("UPDATE webhook_events SET status = 'delivered' WHERE endpoint_id = $1", b.id)

    async def ids(**filters: Any) -> list[str]:
        got: list[str] = []
        cursor = ""
        while True:
            page = await call(
                stub.ListEvents, pb.ListEventsRequest(workspace_id=WS, limit=3, cursor=cursor, **filters)
            )
            got += [e.id for e in page.events]
            if not page.next_cursor:
                return got
            cursor = page.next_cursor

    everything = await ids()
    assert len(everything) == 8 and everything == sorted(everything, reverse=True)
    assert len(await ids(endpoint_id=a.id)) == 4
    assert len(await ids(type="extraction.failed")) == 2
    assert len(await ids(status="delivered")) == 4
    assert len(await ids(endpoint_id=a.id, status="delivered")) == 0
    assert (
        await _code(call(stub.ListEvents, pb.ListEventsRequest(workspace_id=WS, status="lost")))
        == "VALIDATION_ERROR"
    )
    listed = await call(stub.ListEvents, pb.ListEventsRequest(workspace_id=WS, limit=1))
    assert listed.events[0].attempts == []  # attempts come with GetEvent


async def test_migration_carries_the_first_schema_over(database_url: str) -> None:
    """Rows written by the first schema (one event, one delivery per endpoint) become one event per endpoint."""
    pool = await create_pool(database_url, max_size=2)
    try:
        await migrate(pool, MESSAGING_MIGRATIONS)
        for name in ("001_webhooks.sql", "002_endpoint_created_by.sql"):
            await pool.execute((MIGRATIONS / name).read_text())
        await pool.execute(
            """INSERT INTO endpoints (id, workspace_id, url, event_types, secret_ciphertext) VALUES
                   ('whep_A', 'ws_1', 'https://a', '{extraction.completed}', '\\x01'),
                   ('whep_B', 'ws_1', 'https://b', '{extraction.completed}', '\\x01');
               INSERT INTO webhook_events (id, workspace_id, type, payload)
                   VALUES ('evt_01JD2Z0000000000000000EV01', 'ws_1', 'extraction.completed', '{"type": "x"}');
               INSERT INTO deliveries (id, event_id, endpoint_id, status, attempt_count) VALUES
                   ('del_1', 'evt_01JD2Z0000000000000000EV01', 'whep_A', 'delivered', 2),
                   ('del_2', 'evt_01JD2Z0000000000000000EV01', 'whep_B', 'failed', 1);
               INSERT INTO attempts (id, delivery_id, number, status_code, duration_ms, attempted_at) VALUES
                   ('att_1', 'del_1', 1, 500, 3, now()), ('att_2', 'del_1', 2, 200, 3, now()),
                   ('att_3', 'del_2', 1, 404, 3, now());"""
        )
        # Pretend the runner applied them, then let it apply the rest.
        await pool.execute(
            """INSERT INTO schema_migrations (name, checksum) VALUES ('webhooks/001_webhooks.sql', $1),
                   ('webhooks/002_endpoint_created_by.sql', $2)""",
            *[_checksum(MIGRATIONS / n) for n in ("001_webhooks.sql", "002_endpoint_created_by.sql")],
        )
        await migrate(pool, MESSAGING_MIGRATIONS, MIGRATIONS)
        events = await pool.fetch(
            "SELECT id, endpoint_id, status, attempt_count FROM webhook_events ORDER BY endpoint_id"
        )
        assert [(e["endpoint_id"], e["status"], e["attempt_count"]) for e in events] == [
            ("whep_A", "delivered", 2),
            ("whep_B", "failed", 1),
        ]
        assert events[0]["id"] == "evt_01JD2Z0000000000000000EV01"
        assert events[1]["id"].startswith("evt_01JD2Z0000") and len(events[1]["id"]) == 30
        attempts = await pool.fetch(
            "SELECT event_id, number, outcome, status_code FROM attempts ORDER BY event_id, number"
        )
        assert sorted((a["event_id"] == events[0]["id"], a["number"], a["outcome"]) for a in attempts) == [
            (False, 1, "failed"),
            (True, 1, "failed"),
            (True, 2, "succeeded"),
        ]
    finally:
        await pool.close()


def _checksum(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_text().encode()).hexdigest()
