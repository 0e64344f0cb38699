"""Growing the jobs topic so that adding worker processes adds parallelism."""

from __future__ import annotations

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions
from aiokafka.errors import InvalidPartitionsError

from fieldstone.common.logging import get_logger
from fieldstone.messaging import KafkaConnection, as_connection

log = get_logger(__name__)


async def ensure_partitions(kafka: str | KafkaConnection, topic: str, count: int) -> int:
    """Give `topic` at least `count` partitions (never fewer); return how many it has."""
    admin = AIOKafkaAdminClient(**as_connection(kafka).client_options())
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        current = len(described["partitions"])
        if current >= count:
            return current
        # Another process may grow it at the same moment; either way it ends with enough.
        with contextlib.suppress(InvalidPartitionsError):
            await admin.create_partitions({topic: NewPartitions(total_count=count)})
        log.info("jobs topic grown", topic=topic, partitions=count, was=current)
        return count
    finally:
        await admin.close()
