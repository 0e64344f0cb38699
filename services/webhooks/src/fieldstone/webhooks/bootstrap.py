"""Composition root of the webhooks service."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from fieldstone.messaging import Topics
from fieldstone.proto.webhooks.v1 import webhooks_pb2_grpc
from fieldstone.service import Runtime
from fieldstone.webhooks.adapters.due_signal import listening
from fieldstone.webhooks.adapters.secret_box import SecretBox
from fieldstone.webhooks.adapters.sender import WebhookSender
from fieldstone.webhooks.config import WebhooksSettings
from fieldstone.webhooks.entrypoints.consumer import ExtractionEventsHandler
from fieldstone.webhooks.entrypoints.grpc_servicer import WebhooksServicer
from fieldstone.webhooks.service_layer.dispatcher import DeliveryDispatcher
from fieldstone.webhooks.service_layer.unit_of_work import WebhooksUnitOfWork

MIGRATIONS = Path(__file__).parent / "migrations"


async def build(runtime: Runtime) -> None:
    settings = runtime.settings
    if not isinstance(settings, WebhooksSettings):
        raise TypeError("the webhooks service runs with WebhooksSettings")

    def uow() -> WebhooksUnitOfWork:
        return WebhooksUnitOfWork(runtime.pool)

    box = SecretBox(settings.secret_key_bytes)
    servicer = WebhooksServicer(uow, box, settings)
    runtime.grpc.add(
        webhooks_pb2_grpc.add_WebhookServiceServicer_to_server,
        servicer,
        "fieldstone.webhooks.v1.WebhookService",
    )
    runtime.consume(
        "extractions", (Topics.EXTRACTIONS,), ExtractionEventsHandler(uow, settings.public_api_url)
    )
    sender = WebhookSender(
        timeout_seconds=settings.timeout_seconds,
        allowed_networks=settings.allowed_cidrs,
        allowed_hosts=settings.allowed_hosts,
    )
    runtime.on_close(sender.aclose)

    def listen(wake: Callable[[], None]) -> AbstractAsyncContextManager[None]:
        return listening(runtime.pool, wake)

    dispatcher = DeliveryDispatcher(
        uow,
        sender,
        box,
        schedule=settings.retry_schedule,
        poll_seconds=settings.poll_seconds,
        stats_seconds=settings.stats_seconds,
        lease_seconds=settings.lease,
        concurrency=settings.concurrency,
        endpoint_concurrency=settings.endpoint_concurrency,
        disable_after_failing_seconds=settings.disable_after_failing_seconds,
        listen=listen,
    )
    runtime.background(dispatcher.run)
