"""Topic names (SYSTEM.md §3) and their creation."""

from __future__ import annotations

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from fieldstone.messaging.connection import KafkaConnection, as_connection


class Topics:
    AUTH = "fieldstone.auth.v1"
    FILES = "fieldstone.files.v1"
    EXTRACTION_JOBS = "fieldstone.extraction-jobs.v1"
    EXTRACTIONS = "fieldstone.extractions.v1"
    WEBHOOKS = "fieldstone.webhooks.v1"
    USAGE = "fieldstone.usage.v1"
    # Raw S3 bucket notifications (not CloudEvents), written by the object store.
    STORAGE = "fieldstone.storage.v1"

    ALL = (AUTH, FILES, EXTRACTION_JOBS, EXTRACTIONS, WEBHOOKS, USAGE, STORAGE)


async def ensure_topics(
    kafka: str | KafkaConnection, names: tuple[str, ...] = Topics.ALL, partitions: int = 3
) -> None:
    """Create missing topics (with the connection's replication factor); existing ones are left as they are."""
    connection = as_connection(kafka)
    admin = AIOKafkaAdminClient(**connection.client_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(n, num_partitions=partitions, replication_factor=connection.topic_replicas)
            for n in names
            if n not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # created concurrently
                await admin.create_topics(missing)
    finally:
        await admin.close()
