"""Writing events to the outbox, and the relay that publishes them to Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from google.protobuf.message import Message
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, StatusCode

from fieldstone.common.ids import new_id
from fieldstone.common.logging import get_logger
from fieldstone.common.metrics import MESSAGING_SENT, OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, OUTBOX_PUBLISH_DELAY
from fieldstone.common.time import utcnow
from fieldstone.messaging.cloudevents import CloudEvent

log = get_logger(__name__)
_tracer = trace.get_tracer(__name__)
_CHANNEL = "fieldstone_outbox"
# Only one relay per database publishes at a time, so events keep their order per key.
_RELAY_LOCK = 0x6F7574626F78  # "outbox"


async def publish(
    conn: Any, *, topic: str, key: str, ce_type: str, source: str, subject: str, message: Message
) -> str:
    """Add an event to the outbox on `conn` (inside the caller's transaction); return its id.

    The current trace context is stored with the row: the relay's send span continues it."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    event_id = new_id("msg")
    await conn.execute(
        """INSERT INTO outbox (topic, key, ce_id, ce_type, ce_source, ce_subject, ce_time, traceparent, payload)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        topic,
        key,
        event_id,
        ce_type,
        source,
        subject,
        utcnow(),
        carrier.get("traceparent"),
        message.SerializeToString(),
    )
    await conn.execute(f"NOTIFY {_CHANNEL}")  # delivered at commit: wakes the relay
    return event_id


class OutboxRelay:
    """Publishes unsent outbox rows in order and marks them sent; at-least-once."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 200,
        poll_seconds: float = 1.0,
        backlog_seconds: float = 5.0,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        # How often the backlog gauges are refreshed (one cheap indexed query).
        self._backlog_seconds = backlog_seconds
        self._backlog_at = 0.0
        self._wake = asyncio.Event()

    @staticmethod
    def _send_span(row: Any) -> Span:
        """A PRODUCER span per record, child of the context that wrote the row (messaging conventions)."""
        parent = propagate.extract({"traceparent": row["traceparent"]}) if row["traceparent"] else None
        return _tracer.start_span(
            f"send {row['topic']}",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.operation.name": "send",
                "messaging.destination.name": row["topic"],
                "messaging.message.id": row["ce_id"],
                "messaging.kafka.message.key": row["key"],
                "cloudevents.event_id": row["ce_id"],
                "cloudevents.event_type": row["ce_type"],
                "cloudevents.event_source": row["ce_source"],
                "cloudevents.event_subject": row["ce_subject"],
            },
        )

    async def observe_backlog(self) -> None:
        """Refresh the backlog gauges: unsent rows and the age of the oldest."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                """SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(ce_time)), 0) AS age
                   FROM outbox WHERE sent_at IS NULL"""
            )
        OUTBOX_BACKLOG.set(row["n"])
        OUTBOX_OLDEST_AGE.set(max(0.0, float(row["age"])))
        self._backlog_at = time.monotonic()

    async def publish_pending(self) -> int:
        """One pass: publish up to a batch of unsent rows; return how many were sent."""
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _RELAY_LOCK):
                return 0
            rows = await conn.fetch(
                "SELECT * FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT $1", self._batch_size
            )
            if not rows:
                return 0
            futures = []
            spans = [self._send_span(row) for row in rows]
            try:
                for row, span in zip(rows, spans, strict=True):
                    # The record carries the send span's context, so consumers continue the same trace.
                    carrier: dict[str, str] = {}
                    propagate.inject(carrier, context=trace.set_span_in_context(span))
                    event = CloudEvent(
                        id=row["ce_id"],
                        source=row["ce_source"],
                        type=row["ce_type"],
                        subject=row["ce_subject"],
                        time=row["ce_time"],
                        data=bytes(row["payload"]),
                        traceparent=carrier.get("traceparent") or row["traceparent"],
                    )
                    futures.append(
                        await self._producer.send(
                            row["topic"],
                            value=event.data,
                            key=row["key"].encode(),
                            headers=event.kafka_headers(),
                        )
                    )
                await asyncio.gather(*futures)  # every record acknowledged before rows are marked
            except BaseException as exc:
                for span in spans:
                    span.record_exception(exc)
                    span.set_status(StatusCode.ERROR, type(exc).__name__)
                raise
            finally:
                for span in spans:
                    span.end()
            await conn.execute(
                "UPDATE outbox SET sent_at = now() WHERE seq = ANY($1::bigint[])", [r["seq"] for r in rows]
            )
            now = utcnow()
            for row in rows:
                MESSAGING_SENT.labels("kafka", row["topic"], row["ce_type"]).inc()
                OUTBOX_PUBLISH_DELAY.labels(row["topic"]).observe(
                    max(0.0, (now - row["ce_time"]).total_seconds())
                )
            return len(rows)

    async def purge_sent(self, older_than_hours: int = 24) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "DELETE FROM outbox WHERE sent_at < now() - make_interval(hours => $1)", older_than_hours
            )

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        listener = await self._pool.acquire()
        await listener.add_listener(_CHANNEL, self._on_notify)
        passes = 0
        try:
            while not stop.is_set():
                try:
                    sent = await self.publish_pending()
                    passes += 1
                    if passes % 3600 == 0:
                        await self.purge_sent()
                    if time.monotonic() - self._backlog_at >= self._backlog_seconds:
                        await self.observe_backlog()
                except Exception:
                    log.exception("outbox relay pass failed; retrying")
                    sent = 0
                    await asyncio.sleep(1.0)
                if sent:
                    continue  # more may be waiting
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_seconds):
                        await asyncio.wait(
                            [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())],
                            return_when=asyncio.FIRST_COMPLETED,
                        )
        finally:
            await listener.remove_listener(_CHANNEL, self._on_notify)
            await self._pool.release(listener)
