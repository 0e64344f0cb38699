"""The services' Kafka clients through the local broker's SASL listeners (PLAIN and SCRAM-SHA-512), in
clear and over TLS with the local CA (scripts/infra/infra.sh)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import replace

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from fieldstone.messaging import EventConsumer, InboundMessage, KafkaConnection, ensure_topics

pytestmark = pytest.mark.integration

SASL_BOOTSTRAP = os.environ.get("FIELDSTONE_KAFKA_SASL_BOOTSTRAP", "127.0.0.1:19094")
USERNAME = os.environ.get("FIELDSTONE_KAFKA_SASL_USERNAME", "fieldstone")
PASSWORD = os.environ.get("FIELDSTONE_KAFKA_SASL_PASSWORD", "fieldstone-dev-secret")
TLS_BOOTSTRAP = os.environ.get("FIELDSTONE_KAFKA_TLS_BOOTSTRAP", "127.0.0.1:19095")
CA_FILE = os.environ.get(
    "FIELDSTONE_KAFKA_CA_FILE", os.path.expanduser("~/.cache/fieldstone/kafka-tls/ca.pem")
)


def sasl(mechanism: str, password: str = PASSWORD) -> KafkaConnection:
    return KafkaConnection(
        SASL_BOOTSTRAP,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,  # type: ignore[arg-type]
        sasl_username=USERNAME,
        sasl_password=password,
    )


async def _round_trip(connection: KafkaConnection, suffix: str) -> list[bytes]:
    """Create a topic, produce one record and consume it, all through `connection`."""
    topic = f"test.secure.{suffix}"
    await ensure_topics(connection, (topic,), partitions=1)
    producer = AIOKafkaProducer(**connection.client_options(), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"hello", key=b"k")
    finally:
        await producer.stop()

    received: list[bytes] = []
    got = asyncio.Event()

    async def handler(message: InboundMessage) -> None:
        received.append(message.value or b"")
        got.set()

    stop = asyncio.Event()
    consumer = EventConsumer(
        bootstrap=connection, group_id=f"g.secure.{suffix}", topics=(topic,), handler=handler
    )
    task = asyncio.create_task(consumer.run(stop))
    try:
        await asyncio.wait_for(got.wait(), 30)
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 30)
    return received


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
async def test_topics_producer_and_consumer_authenticate(mechanism: str, unique_suffix: str) -> None:
    assert await _round_trip(sasl(mechanism), unique_suffix) == [b"hello"]


async def test_sasl_over_tls_verifies_the_broker_with_the_configured_ca(unique_suffix: str) -> None:
    connection = replace(
        sasl("SCRAM-SHA-512"), bootstrap=TLS_BOOTSTRAP, security_protocol="SASL_SSL", ssl_cafile=CA_FILE
    )
    assert await _round_trip(connection, unique_suffix) == [b"hello"]
    # The system's trust store does not know the local CA: the broker is not trusted.
    producer = AIOKafkaProducer(**replace(connection, ssl_cafile="").client_options())
    with pytest.raises(KafkaError):
        await producer.start()
    await producer.stop()


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
async def test_a_wrong_password_is_refused(mechanism: str) -> None:
    producer = AIOKafkaProducer(**sasl(mechanism, password="not-the-password").client_options())
    with pytest.raises(KafkaError):
        await producer.start()
    await producer.stop()


async def test_the_sasl_listener_refuses_clients_without_credentials(unique_suffix: str) -> None:
    with pytest.raises(KafkaError):
        await asyncio.wait_for(ensure_topics(SASL_BOOTSTRAP, (f"test.nosasl.{unique_suffix}",)), 20)
