"""Usage and plans through the running stack (issue #8): quotas under concurrency, units given back,
replays that change nothing, and plan changes that apply at once.

To bring a workspace near its limit quickly, tests hold units with `UsageService.Reserve` over gRPC
— the very call the extraction service makes for each extraction — instead of running hundreds of
extractions. Everything asserted is then driven through the public API and the real topics.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import grpc
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from fieldstone.devstack import Stack
from fieldstone.proto.events.v1 import events_pb2
from fieldstone.proto.usage.v1 import usage_pb2, usage_pb2_grpc
from tests.e2e.conftest import INVOICE_VARIABLES, Api, invoice_pdf

pytestmark = pytest.mark.e2e

EXTRACTIONS_TOPIC = "fieldstone.extractions.v1"
USAGE_TOPIC = "fieldstone.usage.v1"
SETTLED = {f"fieldstone.extraction.{s}.v1" for s in ("completed", "failed", "canceled")}


def _workspace(stack: Stack, plan: str) -> tuple[Api, str]:
    creds = stack.bootstrap_key(workspace=f"e2e-usage-{uuid.uuid4().hex[:6]}", plan=plan)
    return Api(stack.p.url, creds["key"]), creds["workspaceId"]


def _wait_for_plan(api: Api, plan: str) -> dict[str, Any]:
    """usage learns the plan from auth's workspace.created event; wait until it has."""
    body = api.poll("/v1/usage", lambda b: b["data"]["plan"] == plan, timeout=30)
    data: dict[str, Any] = body["data"]
    return data


@pytest.fixture
def usage(stack: Stack) -> Iterator[usage_pb2_grpc.UsageServiceStub]:
    with grpc.insecure_channel(stack.p.target("usage")) as channel:
        yield usage_pb2_grpc.UsageServiceStub(channel)


def _hold(usage: usage_pb2_grpc.UsageServiceStub, workspace_id: str, units: int) -> None:
    """Hold `units` of the period, as that many running extractions would."""
    for i in range(units):
        usage.Reserve(
            usage_pb2.ReserveRequest(
                workspace_id=workspace_id, reservation_id=f"ext_held{i:05d}_{workspace_id}"
            ),
            timeout=10,
        )


def _pending_file(api: Api) -> str:
    """A registered file that is never uploaded: extractions of it wait, so no engine work is done."""
    created = api.post(
        "/v1/files", {"filename": "later.pdf", "contentType": "application/pdf", "sizeBytes": 1000}
    )
    assert created.status_code == 201, created.text
    file_id: str = created.json()["fileId"]
    return file_id


def _create(api: Api, file_id: str) -> httpx.Response:
    return api.post("/v1/extractions", {"fileId": file_id, "variables": INVOICE_VARIABLES})


def _next_month(now: datetime) -> datetime:
    return datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)


def _assert_quota_exceeded(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "QUOTA_EXCEEDED"
    assert f"allows {limit} extractions per billing period" in error["message"]
    # Retry-After points at the end of the period (the next UTC month).
    now = datetime.now(UTC)
    assert abs(int(response.headers["Retry-After"]) - (_next_month(now) - now).total_seconds()) < 60


def test_fifty_concurrent_creates_against_ten_remaining_accept_exactly_ten(
    stack: Stack, usage: usage_pb2_grpc.UsageServiceStub
) -> None:
    api, workspace_id = _workspace(stack, "starter")
    assert _wait_for_plan(api, "starter")["limit"] == 500
    _hold(usage, workspace_id, 490)
    file_id = _pending_file(api)

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(lambda _: _create(api, file_id), range(50)))

    assert Counter(r.status_code for r in responses) == {202: 10, 429: 40}
    for refused in (r for r in responses if r.status_code == 429):
        _assert_quota_exceeded(refused, 500)
    data = api.get("/v1/usage").json()["data"]
    now = datetime.now(UTC)
    assert data == {
        "plan": "starter",
        "usage": 0,
        "limit": 500,
        "periodKey": now.strftime("%Y-%m"),
        "reserved": 500,
        "remaining": 0,
        "resetsAt": _next_month(now).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }
    # A refused create leaves nothing behind.
    listed = api.get("/v1/extractions", params={"limit": 100}).json()
    assert len(listed["data"]) == 10 and not listed["hasMore"]


def _settled(body: dict[str, Any]) -> bool:
    return body["status"] in ("completed", "failed", "canceled")


async def _partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(TopicPartition(topic, p["partition"]) for p in described["partitions"])


async def _assign_since(
    consumer: AIOKafkaConsumer, bootstrap: str, topic: str, since_ms: int
) -> list[TopicPartition]:
    """Assign every partition of `topic` to `consumer`, positioned at the first record from `since_ms`."""
    partitions = await _partitions(bootstrap, topic)
    consumer.assign(partitions)
    starts = await consumer.offsets_for_times(dict.fromkeys(partitions, since_ms))
    ends = await consumer.end_offsets(partitions)
    for tp in partitions:
        found = starts.get(tp)
        consumer.seek(tp, found.offset if found else ends[tp])
    return partitions


async def _records_of(bootstrap: str, extraction_ids: set[str], since_ms: int) -> list[Any]:
    """Every record of these extractions on the real topic, from `since_ms` on."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await _assign_since(consumer, bootstrap, EXTRACTIONS_TOPIC, since_ms)
        ends = await consumer.end_offsets(partitions)
        found: list[Any] = []
        deadline = time.monotonic() + 30
        while True:
            behind = [tp for tp in partitions if await consumer.position(tp) < ends[tp]]
            if not behind:
                return found
            assert time.monotonic() < deadline, "could not read the extraction events back"
            for records in (await consumer.getmany(*behind, timeout_ms=500)).values():
                found += [r for r in records if r.key and r.key.decode() in extraction_ids]
    finally:
        await consumer.stop()


async def _replay_and_wait_until_consumed(bootstrap: str, group: str, records: list[Any]) -> None:
    """Publish the records again, unchanged (same ce_id), and wait until usage has committed past them."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        sent = [
            await producer.send_and_wait(EXTRACTIONS_TOPIC, r.value, key=r.key, headers=list(r.headers))
            for r in records
        ]
    finally:
        await producer.stop()
    last = {}
    for meta in sent:
        tp = TopicPartition(EXTRACTIONS_TOPIC, meta.partition)
        last[tp] = max(last.get(tp, -1), meta.offset)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            committed = await admin.list_consumer_group_offsets(group)
            if all(tp in committed and committed[tp].offset > offset for tp, offset in last.items()):
                return
            assert time.monotonic() < deadline, f"usage did not consume the replayed events: {committed}"
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


def test_failed_and_canceled_give_units_back_completed_keeps_one_and_replays_change_nothing(
    stack: Stack, api: Api
) -> None:
    since_ms = int(time.time() * 1000) - 5_000
    # Completed: a readable invoice.
    good = api.upload(invoice_pdf())
    api.poll(f"/v1/files/{good['fileId']}", lambda f: f["status"] == "uploaded")
    completed = _create(api, good["fileId"]).json()
    # Failed: a "PDF" that is not one, sent after the extraction was created.
    junk = b"%PDF-1.7\n" + b"this is not a pdf " * 64
    broken = api.post(
        "/v1/files", {"filename": "broken.pdf", "contentType": "application/pdf", "sizeBytes": len(junk)}
    )
    failed = _create(api, broken.json()["fileId"]).json()
    put = httpx.put(
        broken.json()["uploadUrl"], content=junk, headers=broken.json()["uploadHeaders"], timeout=30
    )
    assert put.status_code == 200
    # Canceled: waits for a file that never comes.
    canceled = _create(api, _pending_file(api)).json()
    assert api.post(f"/v1/extractions/{canceled['id']}/cancel").status_code == 200

    outcomes = {
        ext["id"]: api.poll(f"/v1/extractions/{ext['id']}", _settled, timeout=90)["status"]
        for ext in (completed, failed, canceled)
    }
    assert outcomes == {completed["id"]: "completed", failed["id"]: "failed", canceled["id"]: "canceled"}
    settled = api.poll("/v1/usage", lambda b: b["data"]["reserved"] == 0, timeout=30)["data"]
    assert (settled["usage"], settled["reserved"], settled["remaining"]) == (1, 0, settled["limit"] - 1)

    records = asyncio.run(_records_of(stack.p.kafka, set(outcomes), since_ms))
    types = Counter(dict(r.headers)["ce_type"].decode() for r in records)
    assert all(types[t] == 1 for t in SETTLED), types
    group = f"fieldstone-{stack.p.name}.usage.extractions"
    asyncio.run(_replay_and_wait_until_consumed(stack.p.kafka, group, records))

    assert api.get("/v1/usage").json()["data"] == settled


def _admin(stack: Stack, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [str(stack.bin / "fieldstone-usage-admin"), *args],
        env={**os.environ, **stack.env("usage")},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    # stdout is the result alone (one JSON line); the command's logs are JSON lines on stderr.
    (line,) = out.stdout.splitlines()
    assert all(json.loads(log)["service"] == "usage-admin" for log in out.stderr.splitlines())
    result: dict[str, Any] = json.loads(line)
    return result


async def _plan_changes(bootstrap: str, workspace_id: str, since_ms: int, count: int) -> list[Any]:
    """The first `count` workspace_plan.changed events of a workspace from `since_ms` on (within 30 s)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await _assign_since(consumer, bootstrap, USAGE_TOPIC, since_ms)
        changes: list[Any] = []
        deadline = time.monotonic() + 30
        while len(changes) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    headers = {k: v.decode() for k, v in r.headers}
                    if (
                        headers.get("ce_type") == "fieldstone.workspace_plan.changed.v1"
                        and headers.get("ce_subject") == workspace_id
                    ):
                        changes.append(events_pb2.WorkspacePlanChanged.FromString(r.value))
        return changes
    finally:
        await consumer.stop()


def test_changing_the_plan_changes_limits_at_once(
    stack: Stack, usage: usage_pb2_grpc.UsageServiceStub
) -> None:
    since_ms = int(time.time() * 1000) - 5_000
    api, workspace_id = _workspace(stack, "free")
    _hold(usage, workspace_id, 50)
    file_id = _pending_file(api)
    _assert_quota_exceeded(_create(api, file_id), 50)
    big = {"filename": "big.pdf", "contentType": "application/pdf", "sizeBytes": 20 * 1024 * 1024}
    assert api.post("/v1/files", big).status_code == 413  # free: 10 MiB per file
    assert api.get("/v1/usage").headers["ratelimit-policy"] == '"default";q=40;w=60'

    changed = _admin(stack, "set-plan", "--workspace-id", workspace_id, "--plan", "starter")
    assert (changed["plan"], changed["previousPlan"], changed["changed"]) == ("starter", "free", True)
    # No wait: the next request of every kind sees the new plan.
    assert _create(api, file_id).status_code == 202
    data = api.get("/v1/usage").json()["data"]
    assert (data["plan"], data["limit"], data["reserved"], data["remaining"]) == ("starter", 500, 51, 449)
    # files reads the plan on every upload; the gateway drops its cached rate on the plan-changed event.
    assert api.post("/v1/files", big).status_code == 201
    deadline = time.monotonic() + 5
    while api.get("/v1/usage").headers["ratelimit-policy"] != '"default";q=300;w=60':
        assert time.monotonic() < deadline, "the gateway kept the old plan's request rate"
        time.sleep(0.2)
    limits = usage.GetPlanLimits(usage_pb2.GetPlanLimitsRequest(workspace_id=workspace_id), timeout=10)
    assert (
        limits.plan,
        limits.extractions_per_period,
        limits.max_file_bytes,
        limits.max_pages,
        limits.requests_per_minute,
        limits.batch_size,
    ) == ("starter", 500, 25 * 1024 * 1024, 100, 300, 50)

    back = usage.SetWorkspacePlan(
        usage_pb2.SetWorkspacePlanRequest(workspace_id=workspace_id, plan="free"), timeout=10
    )
    assert (back.previous_plan, back.changed) == ("starter", True)
    _assert_quota_exceeded(_create(api, file_id), 50)
    data = api.get("/v1/usage").json()["data"]
    assert (data["plan"], data["limit"], data["remaining"]) == ("free", 50, 0)
    assert _admin(stack, "show", "--workspace-id", workspace_id)["limits"]["maxFileBytes"] == 10 * 1024 * 1024

    changes = asyncio.run(_plan_changes(stack.p.kafka, workspace_id, since_ms, count=2))
    assert [(c.previous_plan, c.plan) for c in changes] == [("free", "starter"), ("starter", "free")]
