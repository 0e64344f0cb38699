"""Fixtures shared by every test in the monorepo.

Integration tests use the real Postgres, Kafka and MinIO that `make test` starts
(scripts/infra/infra.sh); each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

PG_BASE = os.environ.get("FIELDSTONE_PG_DSN_BASE", "postgresql://postgres@127.0.0.1:15432")
KAFKA = os.environ.get("FIELDSTONE_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
S3_ENDPOINT = os.environ.get("FIELDSTONE_S3_ENDPOINT", "127.0.0.1:19000")
S3_ACCESS_KEY = os.environ.get("FIELDSTONE_S3_ACCESS_KEY", "fieldstone")
S3_SECRET_KEY = os.environ.get("FIELDSTONE_S3_SECRET_KEY", "fieldstone-dev-secret")


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A new, empty database for one test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(f"{PG_BASE}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield f"{PG_BASE}/{name}"
    admin = await asyncpg.connect(f"{PG_BASE}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def kafka_bootstrap() -> str:
    return KAFKA


@pytest.fixture
def unique_suffix() -> str:
    """For topic, group and bucket names that must not collide between tests."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The spans this test ends, in memory (the process's tracer provider is installed once)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # later spans are no longer kept
