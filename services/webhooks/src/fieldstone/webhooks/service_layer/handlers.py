"""Use cases of the webhooks service. Each runs in one unit of work."""

from __future__ import annotations

from dataclasses import dataclass

from fieldstone.common.errors import Conflict, NotFound, ValidationFailed
from fieldstone.common.ids import is_valid_id, new_id
from fieldstone.common.logging import get_logger
from fieldstone.messaging import claim
from fieldstone.webhooks.adapters.due_signal import notify_due
from fieldstone.webhooks.adapters.secret_box import SecretBox
from fieldstone.webhooks.domain import model, signing
from fieldstone.webhooks.domain.destinations import Network
from fieldstone.webhooks.service_layer.outcomes import publish_finished
from fieldstone.webhooks.service_layer.unit_of_work import WebhooksUnitOfWork

log = get_logger(__name__)

# The inbox name under which extraction events are claimed.
EXTRACTIONS_CONSUMER = "webhooks.extractions"
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 20, 100


@dataclass(frozen=True)
class UrlPolicy:
    """What endpoint URLs the operator accepts (see model.validate_url)."""

    allow_insecure_http: bool = False
    allowed_networks: tuple[Network, ...] = ()

    def check(self, url: str) -> str:
        return model.validate_url(
            url, allow_insecure_http=self.allow_insecure_http, allowed_networks=self.allowed_networks
        )


def _endpoint_not_found(endpoint_id: str) -> NotFound:
    return NotFound(f"webhook endpoint {endpoint_id} not found")


async def create_endpoint(
    uow: WebhooksUnitOfWork,
    box: SecretBox,
    *,
    workspace_id: str,
    url: str,
    event_types: list[str],
    description: str,
    created_by: str,
    policy: UrlPolicy,
) -> tuple[model.Endpoint, str]:
    """Create an endpoint; returns it and its signing secret, which is stored only encrypted."""
    if not workspace_id:
        raise ValidationFailed("workspace_id is required")
    url = policy.check(url)
    types = model.validate_event_types(event_types)
    description = model.validate_description(description)
    endpoint_id = new_id("whep")
    secret = signing.generate_secret()
    async with uow:
        endpoint = await uow.repo.add_endpoint(
            endpoint_id=endpoint_id,
            workspace_id=workspace_id,
            url=url,
            event_types=types,
            description=description,
            created_by=created_by,
            sealed_secret=box.seal(secret, endpoint_id),
        )
        await uow.commit()
    log.info("webhook endpoint created", endpoint_id=endpoint_id, workspace_id=workspace_id)
    return endpoint, secret


async def list_endpoints(uow: WebhooksUnitOfWork, workspace_id: str) -> list[model.Endpoint]:
    async with uow:
        return await uow.repo.list_endpoints(workspace_id)


async def get_endpoint(uow: WebhooksUnitOfWork, workspace_id: str, endpoint_id: str) -> model.Endpoint:
    async with uow:
        endpoint = await uow.repo.get_endpoint(workspace_id, endpoint_id)
    if endpoint is None:
        raise _endpoint_not_found(endpoint_id)
    return endpoint


async def update_endpoint(
    uow: WebhooksUnitOfWork,
    *,
    workspace_id: str,
    endpoint_id: str,
    changes: model.EndpointChanges,
    policy: UrlPolicy,
) -> model.Endpoint:
    """Change what was given. Disabling ends the endpoint's pending events as failed (replay them
    after enabling it again); enabling clears the disabled state and the failure streak."""
    checked = model.EndpointChanges(
        url=policy.check(changes.url) if changes.url is not None else None,
        enabled=changes.enabled,
        event_types=model.validate_event_types(changes.event_types)
        if changes.event_types is not None
        else None,
        description=model.validate_description(changes.description)
        if changes.description is not None
        else None,
    )
    async with uow:
        current = await uow.repo.get_endpoint(workspace_id, endpoint_id, lock=True)
        if current is None:
            raise _endpoint_not_found(endpoint_id)
        endpoint = await uow.repo.update_endpoint(endpoint_id, checked)
        if current.enabled and not endpoint.enabled:
            await publish_finished(uow, await uow.repo.fail_pending_events([endpoint_id]))
        await uow.commit()
    log.info("webhook endpoint updated", endpoint_id=endpoint_id, enabled=endpoint.enabled)
    return endpoint


async def delete_endpoint(uow: WebhooksUnitOfWork, *, workspace_id: str, endpoint_id: str) -> None:
    """The endpoint goes, with its secrets; its events stay in the log, pending ones end as failed."""
    async with uow:
        if await uow.repo.get_endpoint(workspace_id, endpoint_id, lock=True) is None:
            raise _endpoint_not_found(endpoint_id)
        await uow.repo.delete_endpoint(endpoint_id)
        await publish_finished(uow, await uow.repo.fail_pending_events([endpoint_id]))
        await uow.commit()
    log.info("webhook endpoint deleted", endpoint_id=endpoint_id)


async def rotate_secret(
    uow: WebhooksUnitOfWork,
    box: SecretBox,
    *,
    workspace_id: str,
    endpoint_id: str,
    overlap_seconds: float,
) -> tuple[model.Endpoint, str]:
    """A new secret signs from now on; the one it replaces also signs for `overlap_seconds`."""
    secret = signing.generate_secret()
    async with uow:
        if await uow.repo.get_endpoint(workspace_id, endpoint_id, lock=True) is None:
            raise _endpoint_not_found(endpoint_id)
        endpoint = await uow.repo.rotate_secret(endpoint_id, box.seal(secret, endpoint_id), overlap_seconds)
        await uow.commit()
    log.info("webhook secret rotated", endpoint_id=endpoint_id, overlap_seconds=overlap_seconds)
    return endpoint, secret


async def list_events(
    uow: WebhooksUnitOfWork,
    workspace_id: str,
    limit: int,
    cursor: str,
    flt: model.EventFilter | None = None,
) -> tuple[list[model.WebhookEvent], str | None]:
    """A page of events, newest first, and the cursor of the next page (None on the last)."""
    limit = limit or DEFAULT_PAGE_SIZE
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    if cursor and not is_valid_id(cursor, "evt"):
        raise ValidationFailed("cursor is not a valid event id")
    async with uow:
        events = await uow.repo.list_events(
            workspace_id, flt or model.EventFilter(), limit + 1, cursor or None
        )
    has_more = len(events) > limit
    events = events[:limit]
    return events, (events[-1].id if has_more else None)


async def get_event(uow: WebhooksUnitOfWork, workspace_id: str, event_id: str) -> model.WebhookEvent:
    """An event with every attempt; another workspace's event is not found."""
    async with uow:
        event = await uow.repo.get_event(workspace_id, event_id)
    if event is None:
        raise NotFound(f"webhook event {event_id} not found")
    return event


async def replay_event(uow: WebhooksUnitOfWork, workspace_id: str, event_id: str) -> model.WebhookEvent:
    """Send the event again, with the same webhook-id, now and with a fresh retry schedule."""
    async with uow:
        event = await uow.repo.get_event(workspace_id, event_id, lock=True)
        if event is None:
            raise NotFound(f"webhook event {event_id} not found")
        endpoint = await uow.repo.get_endpoint(workspace_id, event.endpoint_id)
        if endpoint is None:
            raise Conflict(f"the endpoint of webhook event {event_id} was deleted")
        if not endpoint.enabled:
            raise Conflict(f"webhook endpoint {endpoint.id} is disabled; enable it before replaying")
        await uow.repo.replay_event(event_id)
        await notify_due(uow.conn)
        replayed = await uow.repo.get_event(workspace_id, event_id)
        await uow.commit()
    assert replayed is not None
    log.info("webhook event replayed", event_id=event_id, endpoint_id=event.endpoint_id)
    return replayed


async def record_extraction_outcome(
    uow: WebhooksUnitOfWork,
    *,
    source_event_id: str,
    webhook_type: str,
    outcome: model.ExtractionOutcome,
    public_api_url: str,
) -> list[str]:
    """Turn an extraction event into one due webhook event per subscribed endpoint.

    Idempotent on `source_event_id` twice over: the inbox skips a redelivered Kafka event, and
    event ids are derived from it, so even a second pass could not add a second event. Returns the
    new event ids.
    """
    async with uow:
        if not await claim(uow.conn, EXTRACTIONS_CONSUMER, source_event_id):
            log.info("duplicate extraction event skipped", ce_id=source_event_id)
            return []
        payload = model.extraction_payload(webhook_type, outcome, public_api_url)
        created: list[str] = []
        for endpoint_id in await uow.repo.subscribed_endpoint_ids(outcome.workspace_id, webhook_type):
            event_id = model.stable_event_id(source_event_id, endpoint_id, outcome.occurred_at)
            added = await uow.repo.add_event(
                event_id=event_id,
                workspace_id=outcome.workspace_id,
                endpoint_id=endpoint_id,
                event_type=webhook_type,
                payload=payload,
                source_event_id=source_event_id,
            )
            if added:
                created.append(event_id)
        if created:
            await notify_due(uow.conn)
        await uow.commit()
    log.info("webhook events recorded", ce_id=source_event_id, type=webhook_type, events=len(created))
    return created
