"""An at-least-once Kafka consumer: offsets are committed only after the handler succeeded.

Handlers make themselves idempotent with the inbox (`claim`) in the transaction of their
effect; a failing handler is retried with backoff, never skipped, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError
from opentelemetry import context, propagate, trace

from fieldstone.common.logging import get_logger
from fieldstone.messaging.cloudevents import CloudEvent

log = get_logger(__name__)
_tracer = trace.get_tracer(__name__)


@dataclass(frozen=True)
class InboundMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    event: CloudEvent | None  # None for records that are not CloudEvents (e.g. storage notifications)


Handler = Callable[[InboundMessage], Awaitable[None]]


class EventConsumer:
    def __init__(
        self,
        *,
        bootstrap: str,
        group_id: str,
        topics: tuple[str, ...],
        handler: Handler,
        max_backoff_seconds: float = 30.0,
        max_batch: int = 200,
    ) -> None:
        self._bootstrap = bootstrap
        self._group_id = group_id
        self._topics = topics
        self._handler = handler
        self._max_backoff = max_backoff_seconds
        # Slow handlers (extraction jobs) take small batches so a batch ends well within
        # the broker's max poll interval.
        self._max_batch = max_batch
        self.ready = asyncio.Event()

    async def _handle(self, message: InboundMessage, stop: asyncio.Event) -> bool:
        """Run the handler until it succeeds; False if asked to stop first."""
        delay = 0.2
        carrier = (
            {"traceparent": message.event.traceparent} if message.event and message.event.traceparent else {}
        )
        token = context.attach(propagate.extract(carrier))
        try:
            while not stop.is_set():
                try:
                    with _tracer.start_as_current_span(
                        f"process {message.topic}", kind=trace.SpanKind.CONSUMER
                    ):
                        await self._handler(message)
                    return True
                except Exception:
                    log.exception(
                        "event handler failed; will retry",
                        topic=message.topic,
                        offset=message.offset,
                        ce_type=message.event.type if message.event else None,
                    )
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await stop.wait()
                    delay = min(delay * 2, self._max_backoff)
            return False
        finally:
            context.detach(token)

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            *self._topics,
            bootstrap_servers=self._bootstrap,
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._max_batch,
            # Wake up soon after a record arrives rather than waiting to fill a fetch.
            fetch_max_wait_ms=50,
        )
        await consumer.start()
        self.ready.set()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=500)
                for tp, records in batches.items():
                    done = None
                    for record in records:
                        message = InboundMessage(
                            topic=record.topic,
                            partition=record.partition,
                            offset=record.offset,
                            key=record.key,
                            value=record.value,
                            event=CloudEvent.from_kafka(list(record.headers), record.value),
                        )
                        if not await self._handle(message, stop):
                            break  # stopping: this record and the rest stay uncommitted
                        done = record.offset
                    if done is None:
                        continue
                    # One commit per partition batch: records of a batch that crashed before it
                    # are redelivered, and the handlers are idempotent.
                    try:
                        await consumer.commit({TopicPartition(tp.topic, tp.partition): done + 1})
                    except CommitFailedError:
                        # The partition moved to another member during a rebalance; it will
                        # see these records again and the inbox makes that harmless.
                        log.warning("offset commit failed after rebalance", topic=tp.topic)
                if stop.is_set():
                    return
        finally:
            await consumer.stop()
