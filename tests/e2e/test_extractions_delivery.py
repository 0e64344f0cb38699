"""Workers that never lose a job and never run one twice, on the running stack (issue #6):
a worker process killed with SIGKILL mid-job, and the same job message delivered twice."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from fieldstone.devstack import Stack
from tests.e2e.conftest import INVOICE_VARIABLES, Api, Receiver, invoice_pdf
from tests.e2e.test_extractions_lifecycle import (
    WORKERS,
    ended,
    events_of,
    log_lines,
    upload_now,
    use_extraction_processes,
)

pytestmark = pytest.mark.e2e
JOBS = "fieldstone.extraction-jobs.v1"


@pytest.fixture(scope="module", autouse=True)
def two_worker_processes(stack: Stack) -> Iterator[None]:
    use_extraction_processes(stack, 2)
    yield


def deliveries_for(receiver: Receiver, extraction_id: str) -> list[dict[str, Any]]:
    bodies = [json.loads(r["body"]) for r in list(receiver.requests)]
    return [b for b in bodies if b["data"].get("extractionId") == extraction_id]


def claims(stack: Stack, extraction_id: str) -> dict[str, list[int]]:
    return {p: [e["attempt"] for e in log_lines(stack, p, "job claimed", extraction_id)] for p in WORKERS}


def test_a_worker_killed_mid_job_loses_nothing_and_doubles_nothing(
    stack: Stack, api: Api, receiver: Receiver
) -> None:
    assert api.post("/v1/webhook-endpoints", {"url": receiver.url}).status_code == 201
    file_id = upload_now(api, invoice_pdf(number="INV-6100"))
    record = api.post(
        "/v1/extractions",
        {"fileId": file_id, "variables": INVOICE_VARIABLES, "metadata": {"testOnlyDelaySeconds": 5}},
    ).json()
    api.poll(f"/v1/extractions/{record['id']}", lambda b: b["status"] == "processing", timeout=20)
    holder = next(p for p, attempts in claims(stack, record["id"]).items() if attempts)
    stack.kill(holder)  # SIGKILL in the middle of the job: no release, no commit, no goodbye

    # The job is delivered again to the surviving process, which takes over once the lease lapsed.
    receiver.wait_for(lambda _: bool(deliveries_for(receiver, record["id"])), timeout=90)
    survivor = next(p for p in WORKERS if p != holder)
    assert claims(stack, record["id"])[survivor] == [2]
    use_extraction_processes(stack, 2)  # the killed process comes back, like a restarted pod

    done = api.poll(f"/v1/extractions/{record['id']}", ended, timeout=30)
    assert done["status"] == "completed" and done["extractedData"]["invoice_number"] == "INV-6100"
    time.sleep(1.5)  # let any (wrong) second outcome show up
    assert events_of(stack, {record["id"]})[record["id"]] == ["queued", "processing", "completed"]
    assert [d["type"] for d in deliveries_for(receiver, record["id"])] == ["extraction.completed"]
    usage = api.poll("/v1/usage", lambda b: b["data"]["usage"] == 1, timeout=20)["data"]
    assert usage["reserved"] == 0


async def _job_record(bootstrap: str, extraction_id: str, wait_seconds: float = 30) -> tuple[Any, int]:
    """The job message of an extraction, and how many partitions the jobs topic has."""
    consumer = AIOKafkaConsumer(
        JOBS,
        bootstrap_servers=bootstrap,
        group_id=f"e2e-jobs-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                for r in records:
                    if dict(r.headers).get("ce_subject") == extraction_id.encode():
                        return r, len(consumer.partitions_for_topic(JOBS) or ())
        raise AssertionError(f"no job for {extraction_id} on {JOBS}")
    finally:
        await consumer.stop()


async def _redeliver(bootstrap: str, original: Any, partition: int) -> int:
    """The very same record (key, headers, payload, ce_id) once more, on `partition`."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        meta = await producer.send_and_wait(
            JOBS, value=original.value, key=original.key, headers=list(original.headers), partition=partition
        )
        return int(meta.offset)
    finally:
        await producer.stop()


async def _consumed(
    bootstrap: str, group: str, partition: int, offset: int, wait_seconds: float = 30
) -> None:
    """Wait until the workers' group committed past `offset` (the job was handled)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            committed = await admin.list_consumer_group_offsets(group)
            meta = committed.get(TopicPartition(JOBS, partition))
            if meta is not None and meta.offset > offset:
                return
            await asyncio.sleep(0.3)
        raise AssertionError(f"{group} did not get past {JOBS}[{partition}]@{offset}")
    finally:
        await admin.close()


def test_the_same_job_delivered_twice_runs_once(stack: Stack, api: Api, receiver: Receiver) -> None:
    assert api.post("/v1/webhook-endpoints", {"url": receiver.url}).status_code == 201
    file_id = upload_now(api, invoice_pdf(number="INV-6200"))
    record = api.post(
        "/v1/extractions",
        {"fileId": file_id, "variables": INVOICE_VARIABLES, "metadata": {"testOnlyDelaySeconds": 3}},
    ).json()
    job, partitions = asyncio.run(_job_record(stack.p.kafka, record["id"]))
    api.poll(f"/v1/extractions/{record['id']}", lambda b: b["status"] == "processing", timeout=20)
    group = f"fieldstone-{stack.p.name}.extraction.jobs"
    # While it runs: the same message on another partition, so another worker slot may get it at once.
    other = (job.partition + 1) % partitions
    while_running = asyncio.run(_redeliver(stack.p.kafka, job, other))
    done = api.poll(f"/v1/extractions/{record['id']}", ended, timeout=30)
    assert done["status"] == "completed"
    # After it ended: the same message again, late.
    late = asyncio.run(_redeliver(stack.p.kafka, job, job.partition))
    asyncio.run(_consumed(stack.p.kafka, group, other, while_running))
    asyncio.run(_consumed(stack.p.kafka, group, job.partition, late))

    finished = [e for p in WORKERS for e in log_lines(stack, p, "extraction finished", record["id"])]
    assert len(finished) == 1, finished
    assert sum(len(a) for a in claims(stack, record["id"]).values()) == 1  # only one engine run
    assert events_of(stack, {record["id"]})[record["id"]] == ["queued", "processing", "completed"]
    receiver.wait_for(lambda _: bool(deliveries_for(receiver, record["id"])))
    time.sleep(1.0)
    assert len(deliveries_for(receiver, record["id"])) == 1
    assert api.get(f"/v1/extractions/{record['id']}").json()["extractedData"] == done["extractedData"]
    assert api.poll("/v1/usage", lambda b: b["data"]["usage"] == 1, timeout=20)["data"]["reserved"] == 0
