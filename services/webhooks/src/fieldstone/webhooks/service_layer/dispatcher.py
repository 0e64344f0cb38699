"""The delivery loop: claim due deliveries, send each once, record the attempt, then retry or finish.

A claim pushes a delivery's `next_attempt_at` a lease ahead before it is sent, so a dispatcher
that dies mid-send leaves the delivery to be tried again when the lease ends: at least once,
never lost. Replicas share the table through `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Sequence

from google.protobuf.timestamp_pb2 import Timestamp

from fieldstone.common.ids import new_id
from fieldstone.common.logging import get_logger
from fieldstone.common.time import utcnow
from fieldstone.messaging import Topics, publish
from fieldstone.proto.events.v1 import events_pb2
from fieldstone.webhooks.adapters.secret_box import SecretBox
from fieldstone.webhooks.adapters.sender import WebhookSender
from fieldstone.webhooks.domain import model, retries, signing
from fieldstone.webhooks.service_layer.unit_of_work import WebhooksUnitOfWork

log = get_logger(__name__)
SOURCE = "/fieldstone/webhooks"
CE_TYPES = {model.DELIVERED: "fieldstone.webhook.delivered.v1", model.FAILED: "fieldstone.webhook.failed.v1"}


class DeliveryDispatcher:
    def __init__(
        self,
        uow_factory: Callable[[], WebhooksUnitOfWork],
        sender: WebhookSender,
        box: SecretBox,
        *,
        schedule: Sequence[float] = retries.DEFAULT_SCHEDULE,
        poll_seconds: float = 0.5,
        lease_seconds: float = 90.0,
        concurrency: int = 50,
        rng: random.Random | None = None,
    ) -> None:
        self._uow = uow_factory
        self._sender = sender
        self._box = box
        self._schedule = tuple(schedule)
        self._poll = poll_seconds
        self._lease = lease_seconds
        self._concurrency = concurrency
        self._rng = rng or random.Random()
        self._in_flight: set[asyncio.Task[None]] = set()

    async def dispatch_due(self) -> int:
        """Claim as many due deliveries as there are free slots and start sending them."""
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        async with self._uow() as uow:
            due = await uow.repo.claim_due(free, self._lease)
            await uow.commit()
        for delivery in due:
            task = asyncio.create_task(self._deliver(delivery))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(due)

    async def drain(self) -> None:
        """Wait for the attempts in flight."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def run(self, stop: asyncio.Event) -> None:
        log.info("webhook dispatcher started", poll_seconds=self._poll, concurrency=self._concurrency)
        try:
            while not stop.is_set():
                try:
                    claimed = await self.dispatch_due()
                except Exception:
                    log.exception("dispatch pass failed; retrying")
                    claimed = 0
                if claimed:
                    continue  # more may be due
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll):
                        await stop.wait()
        finally:
            await self.drain()

    async def _deliver(self, due: model.DueDelivery) -> None:
        try:
            await self._attempt(due)
        except Exception:
            log.exception("delivery attempt not recorded; retried when its lease ends", delivery_id=due.id)

    async def _attempt(self, due: model.DueDelivery) -> None:
        attempted_at = utcnow()
        secret = self._box.open(due.sealed_secret, due.endpoint_id)
        body = model.render_body(due.payload)
        headers = signing.signature_headers([secret], due.event_id, int(attempted_at.timestamp()), body)
        result = await self._sender.post(due.url, body, headers)
        async with self._uow() as uow:
            delivery = await uow.repo.lock_delivery(due.id)
            if delivery is None or delivery.status != model.PENDING:
                return  # finished by another dispatcher whose lease overlapped ours
            number = delivery.attempt_count + 1
            await uow.repo.add_attempt(
                new_id("att"),
                due.id,
                model.Attempt(
                    number=number,
                    status_code=result.status_code,
                    duration_ms=result.duration_ms,
                    response_excerpt=result.response_excerpt,
                    error=result.error,
                    attempted_at=attempted_at,
                ),
            )
            retry_in: float | None = None
            if model.is_success(result.status_code):
                status = model.DELIVERED
            else:
                retry_after = retries.parse_retry_after(result.retry_after, utcnow())
                retry_in = retries.retry_delay(number, self._schedule, retry_after=retry_after, rng=self._rng)
                status = model.PENDING if retry_in is not None else model.FAILED
            await uow.repo.update_delivery(
                due.id, status=status, attempt_count=number, retry_in_seconds=retry_in
            )
            if status != model.PENDING:
                await self._publish_outcome(uow, due, status, number)
            await uow.commit()
        log.info(
            "webhook attempt recorded",
            delivery_id=due.id,
            event_id=due.event_id,
            endpoint_id=due.endpoint_id,
            attempt=number,
            status_code=result.status_code,
            error=result.error,
            outcome=status,
            retry_in_seconds=None if retry_in is None else round(retry_in, 3),
        )

    async def _publish_outcome(
        self, uow: WebhooksUnitOfWork, due: model.DueDelivery, status: str, attempts: int
    ) -> None:
        occurred_at = Timestamp()
        occurred_at.FromDatetime(utcnow())
        await publish(
            uow.conn,
            topic=Topics.WEBHOOKS,
            key=due.event_id,
            ce_type=CE_TYPES[status],
            source=SOURCE,
            subject=due.event_id,
            message=events_pb2.WebhookDeliveryChanged(
                event_id=due.event_id,
                workspace_id=due.workspace_id,
                endpoint_id=due.endpoint_id,
                status=status,
                attempts=attempts,
                occurred_at=occurred_at,
            ),
        )
