"""A rebalance that takes a partition away while its handler runs must not kill the consumer.

This is what happens when a second replica joins the group in the middle of a long job: the
first member finishes the job, finds the partition gone, and leaves the rest of the batch (and
the commit) to the new owner instead of dying on the commit.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from aiokafka import AIOKafkaProducer

from fieldstone.messaging import EventConsumer, InboundMessage, ensure_topics

pytestmark = pytest.mark.integration


async def test_partition_revoked_mid_handler_keeps_the_consumer_alive(
    kafka_bootstrap: str, unique_suffix: str
) -> None:
    topic = f"test.rebalance.{unique_suffix}"
    group = f"g.rebalance.{unique_suffix}"
    await ensure_topics(kafka_bootstrap, (topic,), partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for partition in (0, 1):
            for n in range(3):
                await producer.send_and_wait(topic, f"{partition}-{n}".encode(), partition=partition)
    finally:
        await producer.stop()

    stop = asyncio.Event()
    first_holding = asyncio.Event()
    release_first = asyncio.Event()
    handled: dict[str, list[str]] = {"first": [], "second": []}

    async def first_handler(message: InboundMessage) -> None:
        if not handled["first"]:
            first_holding.set()
            await release_first.wait()  # a long job: the group rebalances meanwhile
        handled["first"].append((message.value or b"").decode())

    second_started = asyncio.Event()

    async def second_handler(message: InboundMessage) -> None:
        handled["second"].append((message.value or b"").decode())
        second_started.set()

    first = EventConsumer(bootstrap=kafka_bootstrap, group_id=group, topics=(topic,), handler=first_handler)
    first_task = asyncio.create_task(first.run(stop))
    second_task: asyncio.Task[None] | None = None
    try:
        await asyncio.wait_for(first_holding.wait(), 30)
        second = EventConsumer(
            bootstrap=kafka_bootstrap, group_id=group, topics=(topic,), handler=second_handler
        )
        second_task = asyncio.create_task(second.run(stop))

        await asyncio.wait_for(second_started.wait(), 60)  # it owns a partition now
        release_first.set()

        async def all_handled() -> None:
            while set(handled["first"]) | set(handled["second"]) != {
                f"{p}-{n}" for p in (0, 1) for n in range(3)
            }:
                assert not first_task.done(), first_task.exception()
                await asyncio.sleep(0.1)

        await asyncio.wait_for(all_handled(), 60)
        await asyncio.sleep(1.0)  # the first member's commit (or skipped commit) has happened
        assert not first_task.done(), "the first consumer died after losing its partition"
    finally:
        stop.set()
        release_first.set()
        for task in (first_task, second_task):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, 30)
