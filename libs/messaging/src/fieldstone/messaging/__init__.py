"""Kafka messaging: CloudEvents envelope, transactional outbox and relay, idempotent inbox."""

from pathlib import Path

from fieldstone.messaging.cloudevents import CloudEvent
from fieldstone.messaging.connection import KafkaConnection, KafkaSettings, as_connection
from fieldstone.messaging.consumer import EventConsumer, InboundMessage
from fieldstone.messaging.inbox import claim
from fieldstone.messaging.outbox import OutboxRelay, publish
from fieldstone.messaging.topics import Topics, ensure_topics

MIGRATIONS = Path(__file__).parent / "migrations"

__all__ = [
    "MIGRATIONS",
    "CloudEvent",
    "EventConsumer",
    "InboundMessage",
    "KafkaConnection",
    "KafkaSettings",
    "OutboxRelay",
    "Topics",
    "as_connection",
    "claim",
    "ensure_topics",
    "publish",
]
