"""Trace context and metrics across the outbox relay and a consumer, on the real Postgres and Kafka."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from fieldstone.messaging import (
    MIGRATIONS,
    EventConsumer,
    InboundMessage,
    OutboxRelay,
    ensure_topics,
    publish,
)
from fieldstone.pg import UnitOfWork, create_pool, migrate
from fieldstone.proto.events.v1 import events_pb2

pytestmark = pytest.mark.integration


def _sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return value or 0.0


async def test_a_consumer_continues_the_trace_of_the_transaction_that_wrote_the_event(
    database_url: str, kafka_bootstrap: str, unique_suffix: str, tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    exporter = spans
    topic, group = f"test.telemetry.{unique_suffix}", f"g.telemetry.{unique_suffix}"
    await ensure_topics(kafka_bootstrap, (topic,), partitions=1)
    pool = await create_pool(database_url)
    await migrate(pool, MIGRATIONS, tmp_path)
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("request") as request:
        async with UnitOfWork(pool) as uow:
            await publish(
                uow.conn,
                topic=topic,
                key="ext_1",
                ce_type="fieldstone.extraction.completed.v1",
                source="/test",
                subject="ext_01JD0000000000000000000000",
                message=events_pb2.FileStatusChanged(file_id="file_1", status="uploaded"),
            )
            await uow.commit()

    seen: list[dict[str, Any]] = []

    async def handler(message: InboundMessage) -> None:
        seen.append(
            {
                "span": trace.get_current_span().get_span_context(),
                "log": structlog.contextvars.get_contextvars(),
            }
        )

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    stop = asyncio.Event()
    relay = OutboxRelay(pool, producer)
    consumer = EventConsumer(bootstrap=kafka_bootstrap, group_id=group, topics=(topic,), handler=handler)
    tasks = [asyncio.create_task(relay.run(stop)), asyncio.create_task(consumer.run(stop))]
    try:
        deadline = asyncio.get_running_loop().time() + 30
        lag = _lag(group, topic)
        # Consumed, committed, and the lag gauge of the partition says so.
        while not seen or REGISTRY.get_sample_value("fieldstone_consumer_lag_messages", lag) != 0:
            assert asyncio.get_running_loop().time() < deadline, "the event was not consumed in time"
            await asyncio.sleep(0.1)
        await relay.observe_backlog()
    finally:
        stop.set()
        for task in tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 15)
        await producer.stop()
        await pool.close()

    spans = {
        s.name: s
        for s in exporter.get_finished_spans()
        if s.context.trace_id == request.get_span_context().trace_id
    }
    send, process = spans[f"send {topic}"], spans[f"process {topic}"]
    assert send.kind is trace.SpanKind.PRODUCER and send.parent is not None
    assert send.parent.span_id == request.get_span_context().span_id
    assert (
        send.attributes is not None
        and send.attributes["cloudevents.event_type"] == "fieldstone.extraction.completed.v1"
    )
    # The process span is the send span's child and links to it (messaging conventions).
    assert process.kind is trace.SpanKind.CONSUMER and process.parent is not None
    assert process.parent.span_id == send.context.span_id
    assert [link.context.span_id for link in process.links] == [send.context.span_id]
    assert process.attributes is not None and process.attributes["messaging.consumer.group.name"] == group
    # The handler ran inside that span, with the event's ids bound to its log lines.
    assert seen[0]["span"].span_id == process.context.span_id
    assert seen[0]["log"]["extraction_id"] == "ext_01JD0000000000000000000000"
    assert seen[0]["log"]["ce_type"] == "fieldstone.extraction.completed.v1"

    labels = {"messaging_system": "kafka", "messaging_destination_name": topic}
    assert (
        _sample(
            "messaging_client_sent_messages_total",
            **labels,
            cloudevents_event_type="fieldstone.extraction.completed.v1",
        )
        == 1
    )
    assert (
        _sample("messaging_client_consumed_messages_total", **labels, messaging_consumer_group_name=group)
        == 1
    )
    assert _sample("fieldstone_outbox_backlog_events") == 0


def _lag(group: str, topic: str) -> dict[str, str]:
    return {
        "messaging_consumer_group_name": group,
        "messaging_destination_name": topic,
        "messaging_destination_partition_id": "0",
    }
