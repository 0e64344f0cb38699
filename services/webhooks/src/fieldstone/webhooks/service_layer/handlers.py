"""Use cases of the webhooks service. Each runs in one unit of work."""

from __future__ import annotations

from fieldstone.common.errors import NotFound, ValidationFailed
from fieldstone.common.ids import is_valid_id, new_id
from fieldstone.common.logging import get_logger
from fieldstone.messaging import claim
from fieldstone.webhooks.adapters.secret_box import SecretBox
from fieldstone.webhooks.domain import model, signing
from fieldstone.webhooks.domain.destinations import Network
from fieldstone.webhooks.service_layer.unit_of_work import WebhooksUnitOfWork

log = get_logger(__name__)

# The inbox name under which extraction events are claimed.
EXTRACTIONS_CONSUMER = "webhooks.extractions"
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 20, 100


async def create_endpoint(
    uow: WebhooksUnitOfWork,
    box: SecretBox,
    *,
    workspace_id: str,
    url: str,
    event_types: list[str],
    description: str,
    created_by: str,
    allow_insecure_http: bool,
    allowed_networks: tuple[Network, ...],
) -> tuple[model.Endpoint, str]:
    """Create an endpoint; returns it and its signing secret, which is stored only encrypted."""
    if not workspace_id:
        raise ValidationFailed("workspace_id is required")
    url = model.validate_url(url, allow_insecure_http=allow_insecure_http, allowed_networks=allowed_networks)
    types = model.validate_event_types(event_types)
    if len(description) > model.MAX_DESCRIPTION_LENGTH:
        raise ValidationFailed(f"description must be at most {model.MAX_DESCRIPTION_LENGTH} characters")
    endpoint_id = new_id("whep")
    secret = signing.generate_secret()
    async with uow:
        endpoint = await uow.repo.add_endpoint(
            endpoint_id=endpoint_id,
            workspace_id=workspace_id,
            url=url,
            event_types=types,
            description=description.strip(),
            created_by=created_by,
            sealed_secret=box.seal(secret, endpoint_id),
        )
        await uow.commit()
    return endpoint, secret


async def list_endpoints(uow: WebhooksUnitOfWork, workspace_id: str) -> list[model.Endpoint]:
    async with uow:
        return await uow.repo.list_endpoints(workspace_id)


async def list_events(
    uow: WebhooksUnitOfWork, workspace_id: str, limit: int, cursor: str
) -> tuple[list[model.WebhookEvent], str | None]:
    """A page of events, newest first, and the cursor of the next page (None on the last)."""
    limit = limit or DEFAULT_PAGE_SIZE
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    if cursor and not is_valid_id(cursor, "evt"):
        raise ValidationFailed("cursor is not a valid event id")
    async with uow:
        events = await uow.repo.list_events(workspace_id, limit + 1, cursor or None)
    has_more = len(events) > limit
    events = events[:limit]
    return events, (events[-1].id if has_more else None)


async def get_event(uow: WebhooksUnitOfWork, workspace_id: str, event_id: str) -> model.WebhookEvent:
    """An event with its deliveries and every attempt; another workspace's event is not found."""
    async with uow:
        event = await uow.repo.get_event(workspace_id, event_id)
    if event is None:
        raise NotFound(f"webhook event {event_id} not found")
    return event


async def record_extraction_outcome(
    uow: WebhooksUnitOfWork,
    *,
    source_event_id: str,
    webhook_type: str,
    outcome: model.ExtractionOutcome,
    public_api_url: str,
) -> str | None:
    """Turn an extraction event into a webhook event with one due delivery per subscribed endpoint.

    Idempotent on `source_event_id`: a redelivered Kafka event changes nothing. Returns the new
    webhook event id, or None for a duplicate.
    """
    async with uow:
        if not await claim(uow.conn, EXTRACTIONS_CONSUMER, source_event_id):
            log.info("duplicate extraction event skipped", ce_id=source_event_id)
            return None
        event_id = new_id("evt")
        payload = model.extraction_payload(webhook_type, outcome, public_api_url)
        await uow.repo.add_event(event_id, outcome.workspace_id, webhook_type, payload)
        endpoint_ids = await uow.repo.subscribed_endpoint_ids(outcome.workspace_id, webhook_type)
        for endpoint_id in endpoint_ids:
            await uow.repo.add_delivery(new_id("del"), event_id, endpoint_id)
        await uow.commit()
    log.info("webhook event recorded", event_id=event_id, type=webhook_type, deliveries=len(endpoint_ids))
    return event_id
