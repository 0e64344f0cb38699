"""The delivery loop: claim due events, send each once, log the attempt, then retry or finish.

The schedule lives in Postgres (`next_attempt_at`), so any number of dispatcher processes share
it: a claim takes rows with `FOR UPDATE SKIP LOCKED` and leases them, so a dispatcher that dies
mid-send leaves its events to be taken again when the lease ends (at least once, never lost).
Finished attempts are written in batches by one recorder task, so a busy dispatcher makes a
few transactions per batch rather than a few per delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import structlog
from opentelemetry import context, propagate, trace

from fieldstone.common.logging import get_logger
from fieldstone.common.metrics import (
    WEBHOOK_ATTEMPT_DURATION,
    WEBHOOK_BACKLOG,
    WEBHOOK_DELIVERIES,
    WEBHOOK_ENDPOINTS_DISABLED,
    WEBHOOK_OLDEST_DUE_AGE,
)
from fieldstone.common.time import utcnow
from fieldstone.webhooks.adapters.repository import RecordedAttempt
from fieldstone.webhooks.adapters.secret_box import SecretBox, SecretBoxError
from fieldstone.webhooks.adapters.sender import WebhookSender
from fieldstone.webhooks.domain import model, retries, signing
from fieldstone.webhooks.domain.attempts import AttemptResult, Decision, decide
from fieldstone.webhooks.service_layer.outcomes import publish_finished
from fieldstone.webhooks.service_layer.unit_of_work import WebhooksUnitOfWork

log = get_logger(__name__)
_tracer = trace.get_tracer(__name__)
# What an attempt left its event as, in the deliveries metric.
_DELIVERY_OUTCOME = {model.DELIVERED: "delivered", model.PENDING: "retrying", model.FAILED: "failed"}
# Wakes the loop: `listen(wake)` is entered for the dispatcher's life (Postgres LISTEN in production).
Listen = Callable[[Callable[[], None]], AbstractAsyncContextManager[None]]
MAX_BATCH = 500


@dataclass
class _Finished:
    due: model.DueEvent
    result: AttemptResult
    decision: Decision
    recorded: asyncio.Future[None]


@contextlib.asynccontextmanager
async def _no_listener(_: Callable[[], None]) -> AsyncIterator[None]:
    yield


class DeliveryDispatcher:
    def __init__(
        self,
        uow_factory: Callable[[], WebhooksUnitOfWork],
        sender: WebhookSender,
        box: SecretBox,
        *,
        schedule: Sequence[float] = retries.DEFAULT_SCHEDULE,
        poll_seconds: float = 0.5,
        lease_seconds: float = 60.0,
        concurrency: int = 100,
        endpoint_concurrency: int = 20,
        disable_after_failing_seconds: float = 432_000.0,
        listen: Listen = _no_listener,
        rng: random.Random | None = None,
        stats_seconds: float = 15.0,
    ) -> None:
        self._uow = uow_factory
        self._sender = sender
        self._box = box
        self._schedule = tuple(schedule)
        self._poll = poll_seconds
        self._lease = lease_seconds
        self._concurrency = concurrency
        self._endpoint_concurrency = endpoint_concurrency
        self._disable_after = disable_after_failing_seconds
        self._listen = listen
        self._rng = rng or random.Random()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._finished: asyncio.Queue[_Finished] = asyncio.Queue()
        self._wake = asyncio.Event()
        # How often the backlog and disabled-endpoint gauges are refreshed.
        self._stats_seconds = stats_seconds
        self._stats_at = -stats_seconds

    # -- the loop --------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        log.info(
            "webhook dispatcher started",
            poll_seconds=self._poll,
            concurrency=self._concurrency,
            endpoint_concurrency=self._endpoint_concurrency,
        )
        recorder = asyncio.create_task(self._record_loop())
        stopper = asyncio.create_task(stop.wait())
        try:
            async with self._listen(self._wake.set):
                while not stop.is_set():
                    self._wake.clear()
                    try:
                        claimed = await self.dispatch_due()
                        if time.monotonic() - self._stats_at >= self._stats_seconds:
                            await self.observe_backlog()
                    except Exception:
                        log.exception("dispatch pass failed; retrying")
                        claimed = 0
                    if claimed and len(self._in_flight) < self._concurrency:
                        continue  # more may be due
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._poll):
                            waker = asyncio.create_task(self._wake.wait())
                            try:
                                await asyncio.wait({waker, stopper}, return_when=asyncio.FIRST_COMPLETED)
                            finally:
                                waker.cancel()
        finally:
            stopper.cancel()
            await self.drain()
            recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recorder

    async def dispatch_due(self) -> int:
        """Claim as many due events as there are free slots and start an attempt for each."""
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        async with self._uow() as uow:
            due = await uow.repo.claim_due(free, self._lease, self._endpoint_concurrency)
            await uow.commit()
        for event in due:
            task = asyncio.create_task(self._deliver(event))
            self._in_flight.add(task)
            task.add_done_callback(self._slot_freed)
        return len(due)

    async def observe_backlog(self) -> None:
        """Refresh the gauges an operator alerts on: backlog by state, oldest due, disabled endpoints."""
        async with self._uow() as uow:
            stats = await uow.repo.delivery_stats()
        WEBHOOK_BACKLOG.labels("due").set(stats.due)
        WEBHOOK_BACKLOG.labels("scheduled").set(stats.scheduled)
        WEBHOOK_BACKLOG.labels("in_flight").set(stats.in_flight)
        WEBHOOK_OLDEST_DUE_AGE.labels("due").set(stats.oldest_due_seconds)
        for reason in (model.MANUAL, model.GONE, model.FAILING):
            WEBHOOK_ENDPOINTS_DISABLED.labels(reason).set(stats.disabled.get(reason, 0))
        self._stats_at = time.monotonic()

    def _slot_freed(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()

    async def drain(self) -> None:
        """Wait for the attempts in flight (and their logging)."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    # -- one attempt ---------------------------------------------------------------------------
    async def _deliver(self, due: model.DueEvent) -> None:
        # The attempt continues the trace its event was made in (the extraction's), and links to it.
        origin = propagate.extract({"traceparent": due.traceparent}) if due.traceparent else context.Context()
        made_in = trace.get_current_span(origin).get_span_context()
        with (
            _tracer.start_as_current_span(
                "deliver webhook",
                context=origin,
                links=[trace.Link(made_in)] if made_in.is_valid else [],
                attributes={
                    "fieldstone.webhook.event_id": due.id,
                    "fieldstone.webhook.endpoint_id": due.endpoint_id,
                    "fieldstone.webhook.attempt": due.number,
                    "fieldstone.workspace_id": due.workspace_id,
                },
            ),
            structlog.contextvars.bound_contextvars(
                webhook_event_id=due.id, endpoint_id=due.endpoint_id, workspace_id=due.workspace_id
            ),
        ):
            try:
                result = await self._send(due)
                decision = decide(result, due.position, self._schedule, utcnow(), self._rng)
                finished = _Finished(due, result, decision, asyncio.get_running_loop().create_future())
                await self._finished.put(finished)
                await finished.recorded
            except Exception:
                log.exception("webhook attempt not recorded; retried when its lease ends", event_id=due.id)

    async def _send(self, due: model.DueEvent) -> AttemptResult:
        try:
            secrets = [self._box.open(sealed, due.endpoint_id) for sealed in due.sealed_secrets]
        except SecretBoxError:
            # Wrong WEBHOOKS_SECRET_KEY: nothing can be signed, and retrying will not change that soon.
            log.error("endpoint secret does not open; check WEBHOOKS_SECRET_KEY", endpoint_id=due.endpoint_id)
            return AttemptResult(None, 0, "", "signing secret unavailable")
        body = model.render_body(due.payload)
        # Signed afresh for every attempt: webhook-timestamp is the time of this attempt.
        headers = signing.signature_headers(secrets, due.id, int(time.time()), body)
        return await self._sender.post(due.url, body, headers)

    # -- the attempt log ---------------------------------------------------------------------------
    async def _record_loop(self) -> None:
        while True:
            batch = [await self._finished.get()]
            while len(batch) < MAX_BATCH and not self._finished.empty():
                batch.append(self._finished.get_nowait())
            try:
                await self._record(batch)
            except Exception:
                log.exception(
                    "webhook attempts not recorded; retried when their leases end", count=len(batch)
                )
            finally:
                for item in batch:
                    if not item.recorded.done():
                        item.recorded.set_result(None)

    async def _record(self, batch: list[_Finished]) -> None:
        succeeded = {f.due.endpoint_id for f in batch if f.decision.outcome == model.SUCCEEDED}
        gone = {f.due.endpoint_id for f in batch if f.decision.disable_endpoint}
        failed = {f.due.endpoint_id for f in batch} - succeeded - gone
        async with self._uow() as uow:
            finished = await uow.repo.record_attempts(
                [
                    RecordedAttempt(
                        event_id=f.due.id,
                        endpoint_id=f.due.endpoint_id,
                        number=f.due.number,
                        round_start=f.due.round_start,
                        outcome=f.decision.outcome,
                        status_code=f.result.status_code,
                        duration_ms=f.result.duration_ms,
                        response_body=f.result.response_body,
                        error=f.result.error,
                        event_status=f.decision.event_status,
                        retry_in=f.decision.retry_in,
                    )
                    for f in batch
                ]
            )
            disabled = {
                model.GONE: await uow.repo.disable_endpoints(sorted(gone), model.GONE) if gone else [],
                model.FAILING: await uow.repo.note_endpoint_health(
                    sorted(succeeded), sorted(failed), self._disable_after
                ),
            }
            ended = await uow.repo.fail_pending_events([e for ids in disabled.values() for e in ids])
            await publish_finished(uow, [*finished, *ended])
            await uow.commit()
        for reason, endpoint_ids in disabled.items():
            for endpoint_id in endpoint_ids:
                log.warning("webhook endpoint disabled", endpoint_id=endpoint_id, reason=reason)
        for f in batch:
            WEBHOOK_DELIVERIES.labels(_DELIVERY_OUTCOME.get(f.decision.event_status, "failed")).inc()
            WEBHOOK_ATTEMPT_DURATION.labels(f.decision.outcome).observe(f.result.duration_ms / 1000)
            log.info(
                "webhook attempt recorded",
                event_id=f.due.id,
                endpoint_id=f.due.endpoint_id,
                attempt=f.due.number,
                status_code=f.result.status_code,
                duration_ms=f.result.duration_ms,
                error=f.result.error,
                outcome=f.decision.event_status,
                retry_in_seconds=None if f.decision.retry_in is None else round(f.decision.retry_in, 3),
            )
