"""Batch runs through the public API on the running stack (issue #6)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from fieldstone.devstack import Stack
from tests.e2e.conftest import INVOICE_VARIABLES, Api, invoice_pdf
from tests.e2e.test_extractions_lifecycle import broken_png, events_of, upload_now, use_extraction_processes

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", autouse=True)
def two_worker_processes(stack: Stack) -> Iterator[None]:
    use_extraction_processes(stack, 2)
    yield
    use_extraction_processes(stack, 1)  # the modules after this one run with the usual stack


def run_done(body: dict[str, object]) -> bool:
    return body["status"] == "completed"


def test_a_run_extracts_every_file_and_completes_with_counts(stack: Stack, api: Api) -> None:
    template = api.post("/v1/templates", {"name": "Invoice", "variables": INVOICE_VARIABLES}).json()
    files = [
        upload_now(api, invoice_pdf(number="INV-7001")),
        upload_now(api, invoice_pdf(number="INV-7002")),
        upload_now(api, broken_png(), "scan.png", "image/png"),
    ]
    created = api.post(
        "/v1/runs", {"templateId": template["id"], "fileIds": files, "metadata": {"batch": "b1"}}
    )
    assert created.status_code == 202, created.text
    run = created.json()
    assert run["id"].startswith("run_") and run["status"] == "running" and run["total"] == 3
    assert run["templateId"] == template["id"] and run["templateVersion"] == 1
    assert [e["fileId"] for e in run["extractions"]] == files
    assert run["counts"] == {"queued": 3, "processing": 0, "completed": 0, "failed": 0, "canceled": 0}

    done = api.poll(f"/v1/runs/{run['id']}", run_done, timeout=60)
    assert done["counts"] == {"queued": 0, "processing": 0, "completed": 2, "failed": 1, "canceled": 0}
    assert done["completedAt"] and "extractions" not in done
    listed = api.get("/v1/extractions", params={"runId": run["id"], "limit": 10}).json()["data"]
    assert {e["id"] for e in listed} == {e["id"] for e in run["extractions"]}
    assert all(e["runId"] == run["id"] and e["templateName"] == "Invoice" for e in listed)
    assert events_of(stack, {run["id"]})[run["id"]] == ["completed"]  # fieldstone.run.completed.v1, once
    usage = api.poll("/v1/usage", lambda b: b["data"]["reserved"] == 0, timeout=20)["data"]
    assert usage["usage"] == 2  # the failed one was given back


def test_runs_are_checked_before_anything_starts(stack: Stack, api: Api) -> None:
    file_id = upload_now(api, invoice_pdf())
    unknown = api.post("/v1/runs", {"variables": INVOICE_VARIABLES, "fileIds": [file_id, "file_nope"]})
    assert unknown.status_code == 404 and "file_nope" in unknown.json()["error"]["message"]
    twice = api.post("/v1/runs", {"variables": INVOICE_VARIABLES, "fileIds": [file_id, file_id]})
    assert twice.status_code == 400 and "listed twice" in twice.json()["error"]["message"]
    too_many = api.post(
        "/v1/runs", {"variables": INVOICE_VARIABLES, "fileIds": [f"file_{i}" for i in range(1001)]}
    )
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "VALIDATION_ERROR"
    neither = api.post("/v1/runs", {"fileIds": [file_id]})
    assert neither.status_code == 400 and "templateId" in neither.json()["error"]["message"]
    assert api.get("/v1/extractions").json()["data"] == []
    assert api.get("/v1/usage").json()["data"]["reserved"] == 0
    assert api.get("/v1/runs/run_01JD0000000000000000000000").status_code == 404

    free = Api(stack.p.url, stack.bootstrap_key(workspace="e2e-free-runs", plan="free")["key"])
    over = free.post(
        "/v1/runs", {"variables": INVOICE_VARIABLES, "fileIds": [f"file_{i}" for i in range(11)]}
    )
    assert over.status_code == 400, over.text
    assert "the free plan allows at most 10 per run" in over.json()["error"]["message"]


def test_a_200_file_run_with_two_worker_processes(api: Api) -> None:
    documents = [invoice_pdf(number=f"INV-{8000 + i}") for i in range(200)]
    with ThreadPoolExecutor(8) as pool:
        file_ids = list(pool.map(lambda d: upload_now(api, d), documents))
    started = time.monotonic()
    run = api.post("/v1/runs", {"variables": INVOICE_VARIABLES, "fileIds": file_ids})
    assert run.status_code == 202, run.text
    done = api.poll(f"/v1/runs/{run.json()['id']}", run_done, timeout=150)
    elapsed = time.monotonic() - started
    assert done["total"] == 200
    assert done["counts"] == {"queued": 0, "processing": 0, "completed": 200, "failed": 0, "canceled": 0}
    print(f"\n200-file run, 2 extraction processes: {elapsed:.1f} s, {200 / elapsed:.1f} documents/s")  # noqa: T201
    sample = api.get("/v1/extractions", params={"runId": run.json()["id"], "limit": 100}).json()
    numbers = {e["extractedData"]["invoice_number"] for e in sample["data"]}
    assert len(numbers) == 100 and sample["hasMore"]
