"""The outbox, the relay and the inbox against the real Postgres and Kafka."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from fieldstone.messaging import (
    MIGRATIONS,
    EventConsumer,
    InboundMessage,
    OutboxRelay,
    claim,
    ensure_topics,
    publish,
)
from fieldstone.pg import UnitOfWork, create_pool, migrate
from fieldstone.proto.events.v1 import events_pb2

pytestmark = pytest.mark.integration


async def _wait_for(predicate: Callable[[], Awaitable[bool]], limit_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit_s
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def test_events_commit_with_state_and_are_consumed_once(
    database_url: str, kafka_bootstrap: str, unique_suffix: str, tmp_path: Path
) -> None:
    topic = f"test.outbox.{unique_suffix}"
    await ensure_topics(kafka_bootstrap, (topic,), partitions=1)
    pool = await create_pool(database_url)
    (tmp_path / "001_effects.sql").write_text("CREATE TABLE effects (event_id text, n int);")
    await migrate(pool, MIGRATIONS, tmp_path)
    assert await migrate(pool, MIGRATIONS, tmp_path) == []  # idempotent

    def message(i: int) -> events_pb2.FileStatusChanged:
        return events_pb2.FileStatusChanged(file_id=f"file_{i}", status="uploaded")

    # A rolled-back unit of work leaves no event behind; a committed one does.
    async with UnitOfWork(pool) as uow:
        await publish(
            uow.conn, topic=topic, key="k", ce_type="t.v1", source="/test", subject="s", message=message(0)
        )
    for i in (1, 2):
        async with UnitOfWork(pool) as uow:
            await publish(
                uow.conn,
                topic=topic,
                key="k",
                ce_type="t.v1",
                source="/test",
                subject="s",
                message=message(i),
            )
            await uow.commit()
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 2

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    stop = asyncio.Event()
    relay_task = asyncio.create_task(OutboxRelay(pool, producer).run(stop))

    seen: list[str] = []

    async def handler(msg: InboundMessage) -> None:
        assert msg.event is not None
        file_id = events_pb2.FileStatusChanged.FromString(msg.event.data).file_id
        seen.append(file_id)
        async with UnitOfWork(pool) as uow:
            if await claim(uow.conn, "test", msg.event.id):
                await uow.conn.execute("INSERT INTO effects VALUES ($1, 1)", msg.event.id)
            await uow.commit()

    consumer = EventConsumer(
        bootstrap=kafka_bootstrap, group_id=f"g.{unique_suffix}", topics=(topic,), handler=handler
    )
    consumer_task = asyncio.create_task(consumer.run(stop))

    async def both_seen() -> bool:
        return len(seen) >= 2

    await _wait_for(both_seen)
    assert seen == ["file_1", "file_2"]  # in order, rollback never published
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0

    # Redelivery (a second consumer group replays the topic): the inbox prevents a second effect.
    consumer2 = EventConsumer(
        bootstrap=kafka_bootstrap, group_id=f"g2.{unique_suffix}", topics=(topic,), handler=handler
    )
    task2 = asyncio.create_task(consumer2.run(stop))

    async def replayed() -> bool:
        return len(seen) >= 4

    await _wait_for(replayed)
    assert await pool.fetchval("SELECT count(*) FROM effects") == 2

    stop.set()
    for task in (relay_task, consumer_task, task2):
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 15)
    await producer.stop()
    await pool.close()


async def test_migration_checksum_guard(database_url: str, tmp_path: Path) -> None:
    pool = await create_pool(database_url)
    sql = tmp_path / "001_a.sql"
    sql.write_text("CREATE TABLE a (x int);")
    await migrate(pool, tmp_path)
    sql.write_text("CREATE TABLE a (x bigint);")
    with pytest.raises(RuntimeError, match="changed after it was applied"):
        await migrate(pool, tmp_path)
    await pool.close()
    assert isinstance(pool, asyncpg.Pool)
