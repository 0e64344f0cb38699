"""The walking skeleton through the public API, every hop real (issue #2)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from standardwebhooks.webhooks import Webhook

from fieldstone.devstack import Stack
from tests.e2e.conftest import INVOICE_VARIABLES, Api, Receiver, invoice_pdf

pytestmark = pytest.mark.e2e


def _completed(body: dict[str, Any]) -> bool:
    return body["status"] in ("completed", "failed", "canceled")


def test_upload_extract_poll_result_webhook_and_usage(api: Api, receiver: Receiver) -> None:
    endpoint = api.post("/v1/webhook-endpoints", {"url": receiver.url, "events": ["extraction.completed"]})
    assert endpoint.status_code == 201, endpoint.text
    secret = endpoint.json()["secret"]
    assert secret.startswith("whsec_")
    listed = api.get("/v1/webhook-endpoints").json()
    assert secret not in json.dumps(listed) and all("secret" not in e for e in listed["data"])

    uploaded = api.upload(invoice_pdf())
    assert uploaded["status"] == "pending_upload" and uploaded["uploadMethod"] == "PUT"
    api.poll(f"/v1/files/{uploaded['fileId']}", lambda f: f["status"] == "uploaded")

    started = api.post("/v1/extractions", {"fileId": uploaded["fileId"], "variables": INVOICE_VARIABLES})
    assert started.status_code == 202, started.text
    record = started.json()
    assert record["status"] == "queued" and record["id"].startswith("ext_")

    not_ready = api.get(f"/v1/extractions/{record['id']}/result")
    assert not_ready.status_code in (200, 409)

    done = api.poll(f"/v1/extractions/{record['id']}", _completed)
    assert done["status"] == "completed", done
    result = api.get(f"/v1/extractions/{record['id']}/result").json()
    assert result["extractedData"]["invoice_number"] == "INV-2024-003"
    assert result["extractedData"]["invoice_date"] == "2024-11-15"
    assert result["extractedData"]["total_amount"] == 4750.0
    by_path = {f["path"]: f for f in result["fields"]}
    assert by_path["invoice_number"]["page"] == 1 and by_path["invoice_number"]["boundingBox"]
    assert 0 < by_path["invoice_number"]["confidence"] <= 1

    receiver.wait_for(lambda reqs: len(reqs) >= 1)
    delivery = receiver.requests[0]
    payload = Webhook(secret).verify(delivery["body"], delivery["headers"])
    assert payload["type"] == "extraction.completed"
    assert payload["data"]["extractionId"] == record["id"]

    usage = api.get("/v1/usage").json()["data"]
    assert usage["usage"] == 1 and usage["plan"] == "pro" and len(usage["periodKey"]) == 7


def test_errors_use_the_envelope(api: Api) -> None:
    missing = api.get("/v1/extractions/ext_01JD0000000000000000000000")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND" and missing.json()["error"]["requestId"]
    bad = api.post(
        "/v1/files", {"filename": "a.exe", "contentType": "application/x-msdownload", "sizeBytes": 10}
    )
    assert bad.status_code == 415 and bad.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    invalid = api.post("/v1/extractions", {"fileId": "file_x", "variables": [{"key": "", "type": "string"}]})
    assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "VALIDATION_ERROR"
    anonymous = api.http.get("/v1/usage", headers={"Authorization": "Bearer fsk_live_nope"})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "UNAUTHORIZED"


async def _completed_events(bootstrap: str, extraction_ids: set[str]) -> dict[str, int]:
    """Count distinct `extraction.completed` events per extraction on the real topic.

    Delivery is at-least-once: the relay may publish the same event (same `ce_id`) again after
    a crash, and consumers deduplicate on `ce_id`; what must never exist is a second event."""
    consumer = AIOKafkaConsumer(
        "fieldstone.extractions.v1",
        bootstrap_servers=bootstrap,
        group_id=f"e2e-count-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: dict[str, set[str]] = {e: set() for e in extraction_ids}
    try:
        idle = 0
        while idle < 3:
            batch = await consumer.getmany(timeout_ms=1000)
            idle = idle + 1 if not batch else 0
            for records in batch.values():
                for r in records:
                    headers = {k: v.decode() for k, v in r.headers}
                    if (
                        headers.get("ce_type") == "fieldstone.extraction.completed.v1"
                        and headers.get("ce_subject") in seen
                    ):
                        seen[headers["ce_subject"]].add(headers["ce_id"])
    finally:
        await consumer.stop()
    return {e: len(ids) for e, ids in seen.items()}


def test_killing_the_extraction_service_loses_nothing_and_doubles_nothing(
    stack: Stack, api: Api, receiver: Receiver
) -> None:
    assert api.post("/v1/webhook-endpoints", {"url": receiver.url}).status_code == 201
    first = api.upload(invoice_pdf(number="INV-1001"))
    api.poll(f"/v1/files/{first['fileId']}", lambda f: f["status"] == "uploaded")
    # The second file is registered but not uploaded yet: its extraction waits in `queued`.
    data = invoice_pdf(number="INV-2002")
    second = api.post(
        "/v1/files", {"filename": "b.pdf", "contentType": "application/pdf", "sizeBytes": len(data)}
    )
    second_body = second.json()

    a = api.post("/v1/extractions", {"fileId": first["fileId"], "variables": INVOICE_VARIABLES}).json()
    b = api.post("/v1/extractions", {"fileId": second_body["fileId"], "variables": INVOICE_VARIABLES}).json()
    stack.kill("extraction")  # SIGKILL: nothing gets to finish cleanly

    import httpx

    put = httpx.put(second_body["uploadUrl"], content=data, headers=second_body["uploadHeaders"], timeout=30)
    assert put.status_code == 200
    api.poll(f"/v1/files/{second_body['fileId']}", lambda f: f["status"] == "uploaded")

    stack.start("extraction")
    stack.wait_healthy(("extraction",))
    for ext, number in ((a, "INV-1001"), (b, "INV-2002")):
        done = api.poll(f"/v1/extractions/{ext['id']}", _completed, timeout=90)
        assert done["status"] == "completed", done
        assert done["extractedData"]["invoice_number"] == number

    receiver.wait_for(lambda reqs: len(reqs) >= 2)
    counts = asyncio.run(_completed_events(stack.p.kafka, {a["id"], b["id"]}))
    assert counts == {a["id"]: 1, b["id"]: 1}
    delivered = [json.loads(r["body"])["data"]["extractionId"] for r in receiver.requests]
    assert sorted(delivered) == sorted([a["id"], b["id"]])
    assert api.get("/v1/usage").json()["data"]["usage"] == 2
