"""Topic names (SYSTEM.md §3) and their creation."""

from __future__ import annotations

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


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


async def ensure_topics(bootstrap: str, names: tuple[str, ...] = Topics.ALL, partitions: int = 3) -> None:
    """Create missing topics; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names if n not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # created concurrently
                await admin.create_topics(missing)
    finally:
        await admin.close()
