"""The dispatcher against the real Postgres and real HTTP receivers on 127.0.0.1."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
import standardwebhooks.webhooks
import svix.webhooks
from webhooks_support import (
    API,
    HANG,
    WS,
    Receivers,
    create_endpoint,
    dispatching,
    equals,
    eventually,
    publish_extraction,
    receivers,
    scalar,
)

from fieldstone.messaging import MIGRATIONS as MESSAGING_MIGRATIONS
from fieldstone.messaging import Topics
from fieldstone.pg import create_pool, migrate
from fieldstone.proto.events.v1 import events_pb2
from fieldstone.webhooks.adapters.repository import INTERRUPTED
from fieldstone.webhooks.adapters.secret_box import SecretBox
from fieldstone.webhooks.adapters.sender import REFUSED
from fieldstone.webhooks.bootstrap import MIGRATIONS
from fieldstone.webhooks.service_layer import handlers
from fieldstone.webhooks.service_layer.unit_of_work import WebhooksUnitOfWork

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, max_size=10)
    await migrate(pool, MESSAGING_MIGRATIONS, MIGRATIONS)
    yield pool
    await pool.close()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(os.urandom(32))


@pytest.fixture
async def receiver() -> AsyncIterator[Receivers]:
    async with receivers() as start:
        yield start


async def status_of(pool: asyncpg.Pool, event_id: str | None = None) -> object:
    if event_id is None:
        return await scalar(pool, "SELECT status FROM webhook_events")
    return await scalar(pool, "SELECT status FROM webhook_events WHERE id = $1", event_id)


async def test_one_signed_event_per_subscribed_endpoint_exactly_once(
    pool: asyncpg.Pool, box: SecretBox, receiver: Receivers
) -> None:
    first, second = await receiver([204]), await receiver([200])
    ep1, secret1 = await create_endpoint(pool, box, first.url)
    ep2, secret2 = await create_endpoint(pool, box, second.url)
    await create_endpoint(pool, box, "https://hooks.example.com/x", event_types=["extraction.failed"])

    await publish_extraction(pool, "msg_same")
    await publish_extraction(pool, "msg_same")  # redelivered by Kafka

    rows = await pool.fetch("SELECT id, endpoint_id FROM webhook_events ORDER BY endpoint_id")
    assert [r["endpoint_id"] for r in rows] == sorted([ep1.id, ep2.id])
    async with dispatching(pool, box):
        await eventually(
            lambda: equals(scalar(pool, "SELECT count(*) FROM webhook_events WHERE status = 'delivered'"), 2)
        )

    for hook, endpoint, secret in ((first, ep1, secret1), (second, ep2, secret2)):
        (request,) = hook.requests
        event_id = next(r["id"] for r in rows if r["endpoint_id"] == endpoint.id)
        assert request.headers["webhook-id"] == event_id
        assert request.headers["content-type"] == "application/json"
        assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
        body = standardwebhooks.webhooks.Webhook(secret).verify(request.body, request.headers)
        svix.webhooks.Webhook(secret).verify(request.body, request.headers)  # raises unless it verifies
        assert list(body) == ["type", "timestamp", "data"]
        assert body["type"] == "extraction.completed"
        assert body["data"]["extractionId"] == "ext_01JD2Z0000000000000000EX01"
        assert body["data"]["resultUrl"] == f"{API}/v1/extractions/ext_01JD2Z0000000000000000EX01/result"
        sealed = await scalar(pool, "SELECT secret_ciphertext FROM endpoints WHERE id = $1", endpoint.id)
        assert isinstance(sealed, bytes) and secret.encode() not in sealed

    outbox = await pool.fetch("SELECT * FROM outbox ORDER BY seq")
    assert {(r["topic"], r["ce_type"], r["ce_source"]) for r in outbox} == {
        (Topics.WEBHOOKS, "fieldstone.webhook.delivered.v1", "/fieldstone/webhooks")
    }
    assert {r["key"] for r in outbox} == {ep1.id, ep2.id}
    changed = events_pb2.WebhookDeliveryChanged.FromString(outbox[0]["payload"])
    assert (changed.status, changed.attempts, changed.workspace_id) == ("delivered", 1, WS)


async def test_events_webhooks_do_not_announce_are_ignored(pool: asyncpg.Pool, box: SecretBox) -> None:
    await create_endpoint(pool, box, "https://hooks.example.com/in")  # completed + failed only
    await publish_extraction(pool, "msg_1", ce_type="fieldstone.extraction.queued.v1")
    await publish_extraction(pool, "msg_2", ce_type="fieldstone.extraction.canceled.v1")
    assert await scalar(pool, "SELECT count(*) FROM webhook_events") == 0


async def test_down_receiver_gets_the_event_once_it_recovers_and_every_attempt_is_logged(
    pool: asyncpg.Pool, box: SecretBox, receiver: Receivers
) -> None:
    hook = await receiver([500, HANG, 429, 200])
    port = hook.port
    await hook.close()  # connection refused first
    endpoint, secret = await create_endpoint(pool, box, hook.url)
    await publish_extraction(pool, "msg_1")
    event_id = await scalar(pool, "SELECT id FROM webhook_events")

    async with dispatching(pool, box, schedule=(0.0, 0.5, 0.2, 0.2, 0.2, 0.2), attempt_timeout=0.5, lease=3):
        await eventually(lambda: equals(scalar(pool, "SELECT attempt_count FROM webhook_events"), 1))
        await eventually(
            lambda: equals(scalar(pool, "SELECT count(*) FROM attempts WHERE outcome = 'failed'"), 1)
        )
        await hook.start(port)  # back up: 500, then a hang, then 429, then 200
        await eventually(lambda: equals(status_of(pool), "delivered"))

    attempts = await pool.fetch("SELECT * FROM attempts WHERE event_id = $1 ORDER BY number", event_id)
    assert [(a["number"], a["trigger"], a["outcome"], a["status_code"]) for a in attempts] == [
        (1, "initial", "failed", None),
        (2, "retry", "failed", 500),
        (3, "retry", "failed", None),
        (4, "retry", "failed", 429),
        (5, "retry", "succeeded", 200),
    ]
    assert "Connect" in attempts[0]["error"]
    assert attempts[1]["response_body"] == "oops"
    assert attempts[2]["error"] == "timed out after 0.5 s"
    assert attempts[4]["response_body"] == "ok"
    # Retries follow the schedule (0.2 s ± 20 %), each one signed again with its own timestamp.
    gaps = [b["attempted_at"] - a["attempted_at"] for a, b in itertools.pairwise(attempts[1:])]
    assert all(gap.total_seconds() >= 0.16 for gap in gaps)
    assert len(hook.requests) == 4
    assert {r.headers["webhook-id"] for r in hook.requests} == {event_id}
    for request in hook.requests:
        standardwebhooks.webhooks.Webhook(secret).verify(request.body, request.headers)
    endpoint_row = await pool.fetchrow(
        "SELECT enabled, failing_since FROM endpoints WHERE id = $1", endpoint.id
    )
    assert (endpoint_row["enabled"], endpoint_row["failing_since"]) == (True, None)


async def test_last_scheduled_attempt_fails_the_event(
    pool: asyncpg.Pool, box: SecretBox, receiver: Receivers
) -> None:
    hook = await receiver([503])
    await create_endpoint(pool, box, hook.url)
    await publish_extraction(pool, "msg_1")
    async with dispatching(pool, box, schedule=(0.0, 0.05)):
        await eventually(lambda: equals(status_of(pool), "failed"))
    assert await scalar(pool, "SELECT count(*) FROM attempts") == 2
    assert await scalar(pool, "SELECT next_attempt_at FROM webhook_events") is None
    assert await scalar(pool, "SELECT ce_type FROM outbox") == "fieldstone.webhook.failed.v1"


async def test_refused_destination_is_a_failed_attempt(
    pool: asyncpg.Pool, box: SecretBox, receiver: Receivers
) -> None:
    hook = await receiver([200])
    # A host name passes when the endpoint is saved; it resolves to loopback when delivering.
    await create_endpoint(pool, box, f"http://localhost:{hook.port}/hook", allowed=())
    await publish_extraction(pool, "msg_1")
    async with dispatching(pool, box, allowed=(), schedule=(0.0,)):
        await eventually(lambda: equals(status_of(pool), "failed"))
    assert hook.requests == []
    attempt = await pool.fetchrow("SELECT * FROM attempts")
    assert (attempt["number"], attempt["status_code"], attempt["error"]) == (1, None, REFUSED)


async def test_410_disables_the_endpoint_and_ends_its_pending_events(
    pool: asyncpg.Pool, box: SecretBox, receiver: Receivers
) -> None:
    hook = await receiver([410])
    endpoint, _ = await create_endpoint(pool, box, hook.url)
    await publish_extraction(pool, "msg_1")
    async with dispatching(pool, box, schedule=(0.0, 0.1), endpoint_concurrency=1):
        await eventually(lambda: equals(scalar(pool, "SELECT enabled FROM endpoints"), False))
        await publish_extraction(pool, "msg_2")  # not subscribed any more: no event
    row = await pool.fetchrow("SELECT disabled_reason, disabled_at FROM endpoints WHERE id = $1", endpoint.id)
    assert row["disabled_reason"] == "gone" and row["disabled_at"] is not None
    assert [r["status"] for r in await pool.fetch("SELECT status FROM webhook_events")] == ["failed"]
    assert len(hook.requests) == 1


async def test_an_endpoint_failing_for_too_long_is_disabled(
    pool: asyncpg.Pool, box: SecretBox, receiver: Receivers
) -> None:
    hook = await receiver([500])
    endpoint, _ = await create_endpoint(pool, box, hook.url)
    await publish_extraction(pool, "msg_1")
    async with dispatching(pool, box, schedule=(0.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1), disable_after=0.25):
        await eventually(lambda: equals(scalar(pool, "SELECT disabled_reason FROM endpoints"), "failing"))
    assert await status_of(pool) == "failed"
    assert 2 <= len(hook.requests) < 8
    assert (
        await scalar(pool, "SELECT count(*) FROM outbox WHERE ce_type = 'fieldstone.webhook.failed.v1'") == 1
    )
    assert await scalar(pool, "SELECT failing_since FROM endpoints WHERE id = $1", endpoint.id) is not None


async def test_one_slow_endpoint_does_not_delay_the_others(
    pool: asyncpg.Pool, box: SecretBox, receiver: Receivers
) -> None:
    slow, fast = await receiver([HANG]), await receiver([200])
    slow_endpoint, _ = await create_endpoint(pool, box, slow.url)
    for i in range(6):
        await publish_extraction(pool, f"msg_slow_{i}", extraction_id=f"ext_01JD2Z00000000000000000S{i:02d}")
    fast_endpoint, _ = await create_endpoint(pool, box, fast.url)
    await publish_extraction(pool, "msg_fast")

    async with dispatching(pool, box, endpoint_concurrency=2, attempt_timeout=30, lease=40):
        try:
            await eventually(
                lambda: equals(
                    scalar(
                        pool, "SELECT status FROM webhook_events WHERE endpoint_id = $1", fast_endpoint.id
                    ),
                    "delivered",
                )
            )
            # The slow receiver holds its requests and never gets more than its share at once.
            await eventually(
                lambda: equals(scalar(pool, "SELECT count(*) FROM attempts WHERE outcome = 'in_flight'"), 2)
            )
            assert len(slow.requests) <= 2
            waiting = "SELECT count(*) FROM webhook_events WHERE endpoint_id = $1 AND attempt_count = 0"
            assert await scalar(pool, waiting, slow_endpoint.id) == 5  # msg_fast went to both endpoints
        finally:
            slow.released.set()


async def test_a_dispatcher_that_dies_mid_attempt_loses_nothing(
    pool: asyncpg.Pool, box: SecretBox, receiver: Receivers
) -> None:
    hook = await receiver([200])
    await create_endpoint(pool, box, hook.url)
    await publish_extraction(pool, "msg_1")
    # A dispatcher claims the event, then dies: the attempt is never finished, the lease never released.
    async with WebhooksUnitOfWork(pool) as uow:
        (claimed,) = await uow.repo.claim_due(10, 0.5, 20)
        await uow.commit()

    async with dispatching(pool, box):
        await eventually(lambda: equals(status_of(pool), "delivered"))
    attempts = await pool.fetch("SELECT number, trigger, outcome, error FROM attempts ORDER BY number")
    assert [tuple(a) for a in attempts] == [
        (1, "initial", "failed", INTERRUPTED),
        (2, "retry", "succeeded", None),
    ]
    assert [r.headers["webhook-id"] for r in hook.requests] == [claimed.id]


async def test_concurrent_dispatchers_send_each_event_once(
    pool: asyncpg.Pool, box: SecretBox, receiver: Receivers
) -> None:
    hook = await receiver([200])
    await create_endpoint(pool, box, hook.url)
    for i in range(30):
        await publish_extraction(pool, f"msg_{i}", extraction_id=f"ext_01JD2Z0000000000000000E{i:03d}")

    async with dispatching(pool, box, instances=3):
        await eventually(
            lambda: equals(scalar(pool, "SELECT count(*) FROM webhook_events WHERE status = 'delivered'"), 30)
        )

    assert len(hook.requests) == 30
    assert len({r.headers["webhook-id"] for r in hook.requests}) == 30
    assert await scalar(pool, "SELECT count(*) FROM attempts") == 30


async def test_replay_sends_the_same_webhook_id_again_with_a_fresh_schedule(
    pool: asyncpg.Pool, box: SecretBox, receiver: Receivers
) -> None:
    hook = await receiver([200])
    await create_endpoint(pool, box, hook.url)
    await publish_extraction(pool, "msg_1")
    event_id = str(await scalar(pool, "SELECT id FROM webhook_events"))
    async with dispatching(pool, box):
        await eventually(lambda: equals(status_of(pool), "delivered"))
        replayed = await handlers.replay_event(WebhooksUnitOfWork(pool), WS, event_id)
        assert replayed.status == "pending"
        await eventually(
            lambda: equals(scalar(pool, "SELECT count(*) FROM attempts WHERE outcome = 'succeeded'"), 2)
        )
    assert [r.headers["webhook-id"] for r in hook.requests] == [event_id, event_id]
    event = await handlers.get_event(WebhooksUnitOfWork(pool), WS, event_id)
    assert event.status == "delivered"
    assert [(a.number, a.trigger, a.outcome) for a in event.attempts] == [
        (1, "initial", "succeeded"),
        (2, "replay", "succeeded"),
    ]
    assert (
        await scalar(pool, "SELECT count(*) FROM outbox WHERE ce_type = 'fieldstone.webhook.delivered.v1'")
        == 2
    )


async def test_after_a_rotation_both_secrets_sign_until_the_overlap_ends(
    pool: asyncpg.Pool, box: SecretBox, receiver: Receivers
) -> None:
    hook = await receiver([200])
    endpoint, old = await create_endpoint(pool, box, hook.url)
    _, new = await handlers.rotate_secret(
        WebhooksUnitOfWork(pool), box, workspace_id=WS, endpoint_id=endpoint.id, overlap_seconds=3600
    )
    await publish_extraction(pool, "msg_1")
    async with dispatching(pool, box):
        await eventually(lambda: equals(status_of(pool), "delivered"))
        during = hook.requests[-1]
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        for secret in (old, new):
            standardwebhooks.webhooks.Webhook(secret).verify(during.body, during.headers)
            svix.webhooks.Webhook(secret).verify(during.body, during.headers)

        await pool.execute("UPDATE endpoints SET previous_secret_expires_at = now()")  # the overlap is over
        await publish_extraction(pool, "msg_2", extraction_id="ext_01JD2Z0000000000000000EX02")
        await eventually(
            lambda: equals(scalar(pool, "SELECT count(*) FROM webhook_events WHERE status = 'delivered'"), 2)
        )
    after = hook.requests[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    standardwebhooks.webhooks.Webhook(new).verify(after.body, after.headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.webhooks.Webhook(old).verify(after.body, after.headers)
