"""An at-least-once Kafka consumer: offsets are committed only after the handler succeeded.

Handlers make themselves idempotent with the inbox (`claim`) in the transaction of their
effect; a failing handler is retried with backoff, never skipped, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from opentelemetry import context, propagate, trace

from fieldstone.common.logging import get_logger
from fieldstone.common.metrics import CONSUMER_LAG, MESSAGING_CONSUMED, MESSAGING_PROCESS_DURATION
from fieldstone.messaging.cloudevents import CloudEvent
from fieldstone.messaging.connection import KafkaConnection, as_connection

log = get_logger(__name__)
_tracer = trace.get_tracer(__name__)
# Subjects that name an extraction (ext_...) are bound to the handler's log lines as extraction_id.
_SUBJECT_IDS = {
    "ext_": "extraction_id",
    "file_": "file_id",
    "ws_": "workspace_id",
    "evt_": "webhook_event_id",
}


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
        bootstrap: str | KafkaConnection,
        group_id: str,
        topics: tuple[str, ...],
        handler: Handler,
        max_backoff_seconds: float = 30.0,
        max_batch: int = 200,
    ) -> None:
        self._kafka = as_connection(bootstrap)
        self._group_id = group_id
        self._topics = topics
        self._handler = handler
        self._max_backoff = max_backoff_seconds
        # Slow handlers (extraction jobs) take small batches so a batch ends well within
        # the broker's max poll interval.
        self._max_batch = max_batch
        self._lag_labels: set[tuple[str, str, str]] = set()
        self.ready = asyncio.Event()

    def _span_attributes(self, message: InboundMessage) -> dict[str, Any]:
        """Messaging semantic-convention attributes of the process span."""
        attributes: dict[str, Any] = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": message.topic,
            "messaging.destination.partition.id": str(message.partition),
            "messaging.consumer.group.name": self._group_id,
            "messaging.kafka.offset": message.offset,
        }
        if message.key is not None:
            attributes["messaging.kafka.message.key"] = message.key.decode("utf-8", "replace")
        if message.event is not None:
            attributes["messaging.message.id"] = message.event.id
            attributes["cloudevents.event_id"] = message.event.id
            attributes["cloudevents.event_type"] = message.event.type
            attributes["cloudevents.event_subject"] = message.event.subject
        return attributes

    def _log_context(self, message: InboundMessage) -> dict[str, str]:
        if message.event is None:
            return {"topic": message.topic}
        bound = {"topic": message.topic, "ce_type": message.event.type, "ce_id": message.event.id}
        subject = message.event.subject
        for prefix, name in _SUBJECT_IDS.items():
            if subject.startswith(prefix):
                bound[name] = subject
        return bound

    async def _handle(self, message: InboundMessage, stop: asyncio.Event) -> bool:
        """Run the handler until it succeeds; False if asked to stop first.

        The process span continues the producer's trace (W3C traceparent in the headers): it is
        the child of the relay's send span and also links to it, as the messaging conventions
        describe for a single message.
        """
        delay = 0.2
        carrier = (
            {"traceparent": message.event.traceparent} if message.event and message.event.traceparent else {}
        )
        parent = propagate.extract(carrier)
        producer = trace.get_current_span(parent).get_span_context()
        links = [trace.Link(producer)] if producer.is_valid else []
        labels = ("kafka", message.topic, self._group_id)
        token = context.attach(parent)
        try:
            with structlog.contextvars.bound_contextvars(**self._log_context(message)):
                while not stop.is_set():
                    started = time.perf_counter()
                    try:
                        with _tracer.start_as_current_span(
                            f"process {message.topic}",
                            kind=trace.SpanKind.CONSUMER,
                            attributes=self._span_attributes(message),
                            links=links,
                        ):
                            await self._handler(message)
                        MESSAGING_PROCESS_DURATION.labels(*labels, "").observe(time.perf_counter() - started)
                        MESSAGING_CONSUMED.labels(*labels).inc()
                        return True
                    except Exception as exc:
                        MESSAGING_PROCESS_DURATION.labels(*labels, type(exc).__qualname__).observe(
                            time.perf_counter() - started
                        )
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

    async def _observe_lag(self, consumer: AIOKafkaConsumer) -> None:
        """Lag per assigned partition: its high watermark (from the last fetch) minus our position."""
        assigned = set()
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            try:
                position = await consumer.position(tp)
            except Exception:  # no position yet (rebalancing): try again on the next pass
                continue
            labels = (self._group_id, tp.topic, str(tp.partition))
            CONSUMER_LAG.labels(*labels).set(max(0, highwater - position))
            assigned.add(labels)
        for labels in self._lag_labels - assigned:
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(*labels)
        self._lag_labels = assigned

    async def _consume_partition(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[Any], stop: asyncio.Event
    ) -> None:
        """Handle one partition's batch in order, then commit past the last handled record.

        A rebalance may take the partition away while a handler runs (a member joined or left):
        the records not yet handled are then left to the new owner, and the commit is skipped —
        the new owner resumes from the last committed offset and the inbox makes the repeat of
        anything handled here harmless.
        """
        done = None
        for record in records:
            if tp not in consumer.assignment():
                break
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
            return
        if tp not in consumer.assignment():
            log.info(
                "partition revoked during its batch; leaving the commit to its new owner",
                topic=tp.topic,
                partition=tp.partition,
            )
            return
        try:
            # One commit per partition batch: records of a batch that crashed before it
            # are redelivered, and the handlers are idempotent.
            await consumer.commit({TopicPartition(tp.topic, tp.partition): done + 1})
        except (CommitFailedError, IllegalStateError):
            # The group rebalanced between the check and the commit: same outcome as above.
            log.warning("offset commit failed after rebalance", topic=tp.topic, partition=tp.partition)

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            *self._topics,
            **self._kafka.client_options(),
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
                    await self._consume_partition(consumer, tp, records, stop)
                if stop.is_set():
                    return
                await self._observe_lag(consumer)
        finally:
            for labels in self._lag_labels:
                with contextlib.suppress(KeyError):
                    CONSUMER_LAG.remove(*labels)
            await consumer.stop()
