"""Every extraction transition through the public API, on the running stack (issue #6).

    queued → processing → completed        (result: data, confidence, provenance)
    queued → processing → failed           (a document the engine cannot read)
    queued → failed                        (the file it waited for was rejected)
    queued → canceled                      (at once)
    processing → canceled                  (at once; the worker stops at its next checkpoint)

Helpers here are shared by the other extraction, run and template e2e modules.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from fieldstone.devstack import Stack
from tests.e2e.conftest import INVOICE_VARIABLES, Api, Receiver, invoice_pdf

pytestmark = pytest.mark.e2e
TEST_ONLY_DELAYS = {"EXTRACTION_TEST_ONLY_DELAYS": "true"}
ENDED = ("completed", "failed", "canceled")
WORKERS = ("extraction", "extraction-2")


# -- helpers shared by the extraction, run and template e2e modules ---------------------------------
def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").partition("=")[::2] for item in raw if b"=" in item)


def use_extraction_processes(stack: Stack, count: int) -> None:
    """Run `count` extraction processes (extraction, extraction-2, ...), each with the test-only
    delay switch on (metadata.testOnlyDelaySeconds pauses a job so a test can act while it runs)."""
    for n in range(1, 10):
        name = "extraction" if n == 1 else f"extraction-{n}"
        pid = stack.pid(name)
        if n > count:
            if pid:
                stack.stop(name)
            continue
        if pid and _environ(pid).get("EXTRACTION_TEST_ONLY_DELAYS") == "true":
            continue
        if pid:
            stack.restart(name, TEST_ONLY_DELAYS)
        else:
            stack.start(name, TEST_ONLY_DELAYS)
    stack.wait_healthy(tuple("extraction" if n == 1 else f"extraction-{n}" for n in range(1, count + 1)))


def upload_now(
    api: Api, data: bytes, filename: str = "doc.pdf", content_type: str = "application/pdf"
) -> str:
    """A file uploaded in one step (multipart): verified before the answer."""
    r = api.http.post("/v1/files", files={"file": (filename, data, content_type)})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "uploaded", r.json()
    file_id: str = r.json()["id"]
    return file_id


def ended(body: dict[str, Any]) -> bool:
    return body["status"] in ENDED


def log_lines(stack: Stack, process: str | None, event: str, extraction_id: str) -> list[dict[str, Any]]:
    """Log entries `event` about an extraction, of one process or (None) of every extraction process."""
    if process is None:
        return [e for p in WORKERS for e in log_lines(stack, p, event, extraction_id)]
    found: list[dict[str, Any]] = []
    if not stack.log_file(process).exists():
        return found
    for line in stack.log_file(process).read_text(errors="replace").splitlines():
        if extraction_id in line and event in line:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == event and entry.get("extraction_id") == extraction_id:
                found.append(entry)
    return found


def wait_for_log(
    stack: Stack, process: str | None, event: str, extraction_id: str, timeout: float = 10
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log_lines(stack, process, event, extraction_id):
            return
        time.sleep(0.2)
    raise AssertionError(f"{process or 'no extraction process'} logged {event!r} for {extraction_id}")


async def _read_events(bootstrap: str, topic: str, subjects: set[str]) -> dict[str, list[tuple[str, str]]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"e2e-read-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: dict[str, list[tuple[str, str]]] = {s: [] for s in subjects}
    try:
        idle = 0
        while idle < 3:
            batch = await consumer.getmany(timeout_ms=700, max_records=5000)
            idle = idle + 1 if not batch else 0
            for records in batch.values():
                for r in records:
                    headers = {k: v.decode() for k, v in r.headers}
                    if headers.get("ce_subject") in seen:
                        pair = (headers["ce_type"], headers["ce_id"])
                        if pair not in seen[headers["ce_subject"]]:  # at-least-once: same ce_id again is fine
                            seen[headers["ce_subject"]].append(pair)
    finally:
        await consumer.stop()
    return seen


def events_of(
    stack: Stack, subjects: set[str], topic: str = "fieldstone.extractions.v1"
) -> dict[str, list[str]]:
    """The distinct events (by ce_id) per subject on a topic, as short types ("completed", ...)."""
    found = asyncio.run(_read_events(stack.p.kafka, topic, subjects))
    return {s: [t.split(".")[-2] for t, _ in pairs] for s, pairs in found.items()}


def broken_png() -> bytes:
    """PNG magic bytes (the files service accepts it) over a body no decoder can read."""
    return b"\x89PNG\r\n\x1a\n" + b"\x00not an image" * 40


# -- tests -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def two_worker_processes(stack: Stack) -> Iterator[None]:
    use_extraction_processes(stack, 2)
    yield


def test_queued_processing_completed_with_result_and_provenance(api: Api, receiver: Receiver) -> None:
    assert api.post("/v1/webhook-endpoints", {"url": receiver.url}).status_code == 201
    file_id = upload_now(api, invoice_pdf(number="INV-6001"))
    started = api.post(
        "/v1/extractions",
        {
            "fileId": file_id,
            "variables": INVOICE_VARIABLES,
            "metadata": {"testOnlyDelaySeconds": 1.5, "po": "A-7"},
        },
    )
    assert started.status_code == 202, started.text
    record = started.json()
    for field in ("id", "userId", "templateId", "templateName", "fileName", "status", "extractedData", "error",
                  "variables", "source", "runId", "processingTimeMs", "createdAt",  # the reference schema
                  "fileId", "workspaceId", "templateVersion", "completedAt", "pageCount"):  # fmt: skip
        assert field in record, field
    assert record["status"] == "queued" and record["fileName"] == "doc.pdf" and record["source"] == "api"
    assert record["variables"] == INVOICE_VARIABLES and record["metadata"]["po"] == "A-7"

    api.poll(f"/v1/extractions/{record['id']}", lambda b: b["status"] == "processing", timeout=20)
    early = api.get(f"/v1/extractions/{record['id']}/result")
    assert early.status_code == 409 and early.json()["error"]["code"] == "EXTRACTION_NOT_READY"

    done = api.poll(f"/v1/extractions/{record['id']}", ended, timeout=30)
    assert done["status"] == "completed", done
    assert (
        done["pageCount"] == 1
        and done["processingTimeMs"] >= 1000
        and done["completedAt"]
        and done["startedAt"]
    )
    result = api.get(f"/v1/extractions/{record['id']}/result")
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["extractedData"]["invoice_number"] == "INV-6001" and body["error"] is None
    field = next(f for f in body["fields"] if f["path"] == "invoice_number")
    assert 0 < field["confidence"] <= 1 and field["page"] == 1 and len(field["boundingBox"]) == 4
    assert "INV-6001" in field["sourceText"]
    receiver.wait_for(lambda reqs: any(json.loads(r["body"])["type"] == "extraction.completed" for r in reqs))


def test_a_document_the_engine_cannot_read_fails_with_a_clear_error(api: Api) -> None:
    file_id = upload_now(api, broken_png(), "scan.png", "image/png")
    record = api.post("/v1/extractions", {"fileId": file_id, "variables": INVOICE_VARIABLES}).json()
    failed = api.poll(f"/v1/extractions/{record['id']}", ended, timeout=30)
    assert failed["status"] == "failed" and failed["extractedData"] is None
    assert failed["errorCode"] == "UNSUPPORTED_TYPE" and "could not be decoded" in failed["error"]
    result = api.get(f"/v1/extractions/{record['id']}/result")
    assert result.status_code == 200  # a failed job's result is its error
    assert result.json()["errorCode"] == "UNSUPPORTED_TYPE" and result.json()["extractedData"] is None


def test_queued_then_failed_when_the_awaited_upload_is_rejected(api: Api) -> None:
    data = invoice_pdf()
    declared = api.post(
        "/v1/files", {"filename": "x.pdf", "contentType": "application/pdf", "sizeBytes": len(data)}
    )
    target = declared.json()
    record = api.post("/v1/extractions", {"fileId": target["fileId"], "variables": INVOICE_VARIABLES}).json()
    assert record["status"] == "queued"
    put = httpx.put(target["uploadUrl"], content=data[:-10], headers=target["uploadHeaders"], timeout=30)
    assert put.status_code == 200
    failed = api.poll(f"/v1/extractions/{record['id']}", ended, timeout=30)
    assert failed["status"] == "failed" and failed["errorCode"] == "FILE_REJECTED", failed
    assert "SIZE_MISMATCH" in failed["error"]


def test_cancel_a_queued_extraction_at_once(api: Api) -> None:
    data = invoice_pdf()
    target = api.post(
        "/v1/files", {"filename": "q.pdf", "contentType": "application/pdf", "sizeBytes": len(data)}
    ).json()
    record = api.post("/v1/extractions", {"fileId": target["fileId"], "variables": INVOICE_VARIABLES}).json()
    canceled = api.post(f"/v1/extractions/{record['id']}/cancel")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert canceled.json()["completedAt"]
    # The upload arriving afterwards starts nothing.
    assert (
        httpx.put(target["uploadUrl"], content=data, headers=target["uploadHeaders"], timeout=30).status_code
        == 200
    )
    api.poll(f"/v1/files/{target['fileId']}", lambda f: f["status"] == "uploaded")
    time.sleep(1.0)  # give a (wrongly) started job the time to show up
    assert api.get(f"/v1/extractions/{record['id']}").json()["status"] == "canceled"
    again = api.post(f"/v1/extractions/{record['id']}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "CONFLICT"
    assert "can no longer be canceled" in again.json()["error"]["message"]
    result = api.get(f"/v1/extractions/{record['id']}/result")
    assert result.status_code == 409 and result.json()["error"]["code"] == "CONFLICT"


def test_cancel_a_processing_extraction_stops_the_worker(stack: Stack, api: Api) -> None:
    file_id = upload_now(api, invoice_pdf(number="INV-6002"))
    record = api.post(
        "/v1/extractions",
        {"fileId": file_id, "variables": INVOICE_VARIABLES, "metadata": {"testOnlyDelaySeconds": 30}},
    ).json()
    api.poll(f"/v1/extractions/{record['id']}", lambda b: b["status"] == "processing", timeout=20)
    canceled = api.post(f"/v1/extractions/{record['id']}/cancel")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    # The worker notices at its next checkpoint (a third of the 10 s lease) and stops the job.
    wait_for_log(stack, None, "extraction ended elsewhere while running; engine stopped", record["id"])
    assert api.get(f"/v1/extractions/{record['id']}").json()["status"] == "canceled"
    assert not log_lines(stack, None, "extraction finished", record["id"])
    usage = api.poll("/v1/usage", lambda b: b["data"]["reserved"] == 0, timeout=20)["data"]
    assert usage["usage"] == 0  # the unit was given back, not consumed
    assert events_of(stack, {record["id"]})[record["id"]] == ["queued", "processing", "canceled"]


def test_terminal_extractions_cannot_be_canceled_and_lists_filter(api: Api) -> None:
    file_id = upload_now(api, invoice_pdf())
    record = api.post("/v1/extractions", {"fileId": file_id, "variables": INVOICE_VARIABLES}).json()
    api.poll(f"/v1/extractions/{record['id']}", ended, timeout=30)
    refused = api.post(f"/v1/extractions/{record['id']}/cancel")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "CONFLICT"
    queued = api.post("/v1/extractions", {"fileId": file_id, "variables": INVOICE_VARIABLES}).json()
    api.post(f"/v1/extractions/{queued['id']}/cancel")

    def ids(**params: str) -> list[str]:
        r = api.get("/v1/extractions", params=params)
        assert r.status_code == 200, r.text
        return [e["id"] for e in r.json()["data"]]

    assert ids(status="completed") == [record["id"]]
    assert ids(status="canceled") == [queued["id"]]
    assert ids(createdAfter=record["createdAt"]) == [queued["id"], record["id"]]
    assert ids(createdBefore=record["createdAt"]) == []
    assert ids(runId="run_01JD0000000000000000000000") == []
    bad = api.get("/v1/extractions", params={"status": "done"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
