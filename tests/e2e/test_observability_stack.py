"""Observability end to end (issue #10): one extraction is one trace, metrics an operator can alert on,
correlated logs without secrets.

This module runs a stack of its own (ports 29080/29100+ unless FIELDSTONE_OBS_HTTP_PORT and
FIELDSTONE_OBS_GRPC_BASE say otherwise) whose services all write their spans to JSON-lines files,
drives one walking skeleton and one quota rejection through it, then reads every service's spans,
/metrics and logs. `make bench-tracing` (the `bench` marker) also measures what tracing costs (on vs off).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fieldstone.devstack import SERVICES, Profile, Stack
from fieldstone.devstack.traces import SpanRecord, by_trace, load_dir, render_trace
from tests.e2e.conftest import INVOICE_VARIABLES, Api, Receiver, _drop_database, invoice_pdf, webhook_receiver
from tests.e2e.test_zz_no_secrets_in_logs import SECRETS

pytestmark = pytest.mark.e2e

GRPC_SERVICES = ("auth", "files", "extraction", "webhooks", "usage")
JOBS_TOPIC, EXTRACTIONS_TOPIC = "fieldstone.extraction-jobs.v1", "fieldstone.extractions.v1"
COMPLETED = "fieldstone.extraction.completed.v1"
CREATE_EXTRACTION = "/fieldstone.extraction.v1.ExtractionService/CreateExtraction"


def _until(what: str, check: Callable[[], Any], timeout: float = 30.0, every: float = 0.2) -> Any:
    """Poll `check` until it returns something truthy (or stops raising AssertionError)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            result = check()
            if result:
                return result
        except AssertionError as exc:
            last = exc
            if time.monotonic() >= deadline:
                raise
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last!r})")
        time.sleep(every)


# -- a stack of our own --------------------------------------------------------------------------


def _profile(state: Path, *, http_port: int, grpc_base: int, traced: bool) -> Profile:
    run = uuid.uuid4().hex[:8]
    everyone = {"OTEL_BSP_SCHEDULE_DELAY": "100"} if traced else {}
    extra = {s: dict(everyone) for s in SERVICES}
    extra["webhooks"].update(
        {
            "WEBHOOKS_POLL_SECONDS": "0.2",
            "WEBHOOKS_RETRY_SCHEDULE": "0,0.3,0.3",
            "WEBHOOKS_TIMEOUT_SECONDS": "2",
            "WEBHOOKS_LEASE_SECONDS": "3",
            "WEBHOOKS_STATS_SECONDS": "0.5",
        }
    )
    # `free` allows no extraction at all, so one request shows a quota rejection.
    extra["usage"]["USAGE_PLAN_LIMITS"] = json.dumps(
        {"free": {"extractions_per_period": 0}, "pro": {"requests_per_minute": 100000}}
    )
    extra["gateway"]["GATEWAY_ANONYMOUS_REQUESTS_PER_MINUTE"] = "100000"
    return Profile.from_env(
        name=f"obs{run}",
        state_dir=state,
        http_port=http_port,
        grpc_base=grpc_base,
        db_prefix=f"fsobs_{run}_",
        traces_dir=state / "traces" if traced else None,
        extra_env=extra,
    )


@contextlib.contextmanager
def running(profile: Profile) -> Iterator[Stack]:
    stack = Stack(profile)
    try:
        stack.up(timeout=180)
        yield stack
    finally:
        stack.down()
        for service in SERVICES:
            _drop_database(profile.pg_base, f"{profile.db_prefix}{service}")


def _api(stack: Stack, plan: str) -> Api:
    creds = stack.bootstrap_key(workspace=f"obs-{plan}-{uuid.uuid4().hex[:6]}", plan=plan)
    api = Api(stack.p.url, creds["key"])
    # usage learns the plan from auth's event; extractions reserve against it.
    api.poll("/v1/usage", lambda u: u["data"]["plan"] == plan, timeout=30)
    return api


def _extract_once(api: Api, receiver: Receiver, delivered_before: int) -> tuple[str, float, float]:
    """One extraction of an uploaded invoice: its id, the POST's latency and the time to its webhook."""
    uploaded = api.upload(invoice_pdf())
    api.poll(f"/v1/files/{uploaded['fileId']}", lambda f: f["status"] == "uploaded")
    started = time.perf_counter()
    created = api.post("/v1/extractions", {"fileId": uploaded["fileId"], "variables": INVOICE_VARIABLES})
    answered = time.perf_counter() - started
    assert created.status_code == 202, created.text
    extraction_id = created.json()["id"]
    receiver.wait_for(lambda received: len(received) >= delivered_before + 1)
    return extraction_id, answered, time.perf_counter() - started


@dataclass
class Observed:
    stack: Stack
    extraction_id: str
    workspace_id: str
    quota_status: int


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    profile = _profile(
        tmp_path_factory.mktemp("observability"),
        http_port=int(os.environ.get("FIELDSTONE_OBS_HTTP_PORT", "29080")),
        grpc_base=int(os.environ.get("FIELDSTONE_OBS_GRPC_BASE", "29100")),
        traced=True,
    )
    with webhook_receiver() as receiver, running(profile) as stack:
        api = _api(stack, "pro")
        endpoint = api.post(
            "/v1/webhook-endpoints", {"url": receiver.url, "events": ["extraction.completed"]}
        )
        assert endpoint.status_code == 201, endpoint.text
        extraction_id, _, _ = _extract_once(api, receiver, 0)
        record = api.poll(f"/v1/extractions/{extraction_id}", lambda r: r["status"] == "completed")
        # A workspace on `free` (no extraction allowed here): its first extraction is refused.
        free = _api(stack, "free")
        file = free.upload(invoice_pdf())
        free.poll(f"/v1/files/{file['fileId']}", lambda f: f["status"] == "uploaded")
        refused = free.post("/v1/extractions", {"fileId": file["fileId"], "variables": INVOICE_VARIABLES})
        assert refused.json()["error"]["code"] == "QUOTA_EXCEEDED", refused.text
        yield Observed(stack, extraction_id, record.get("workspaceId", ""), refused.status_code)


# -- traces -------------------------------------------------------------------------------------


def _one(spans: list[SpanRecord], what: str, match: Callable[[SpanRecord], bool]) -> SpanRecord:
    found = [s for s in spans if match(s)]
    assert len(found) == 1, f"expected one {what}, found {len(found)}"
    return found[0]


def _is_ancestor(ancestor: SpanRecord, span: SpanRecord, index: dict[str, SpanRecord]) -> bool:
    current: SpanRecord | None = span
    while current is not None and current.parent_id:
        if current.parent_id == ancestor.span_id:
            return True
        current = index.get(current.parent_id)
    return False


def _service(span: SpanRecord) -> str:
    return span.service.removeprefix("fieldstone-")


def _extraction_trace(traces_dir: Path) -> list[SpanRecord]:
    """The spans of the trace that starts at the gateway's POST /v1/extractions, once it has reached
    the webhook attempt (spans are exported in batches, so the files fill up shortly after)."""

    def complete() -> list[SpanRecord] | None:
        traces = by_trace(load_dir(traces_dir))
        for spans in traces.values():
            roots = [
                s for s in spans if s.kind == "SERVER" and s.attributes.get("http.route") == "/v1/extractions"
            ]
            posted = [
                s for s in roots if s.attributes.get("http.request.method", s.name.split()[0]) == "POST"
            ]
            if posted and any(_service(s) == "webhooks" and s.kind == "CLIENT" for s in spans):
                return spans
        return None

    spans: list[SpanRecord] = _until(
        "the extraction's trace to reach the webhook attempt", complete, timeout=30, every=1.0
    )
    return spans


def test_one_extraction_is_one_trace_from_the_request_to_the_webhook(observed: Observed) -> None:
    assert observed.stack.p.traces_dir is not None
    spans = _extraction_trace(observed.stack.p.traces_dir)
    index = {s.span_id: s for s in spans}
    context = "\n" + render_trace(spans)

    # Every span of the trace hangs off the gateway's HTTP span: one tree, one trace id.
    request = _one(spans, "HTTP server span", lambda s: s.parent_id is None)
    assert (_service(request), request.kind, request.name) == ("gateway", "SERVER", "POST /v1/extractions")
    assert request.attributes.get("http.response.status_code") == 202
    orphans = [s.name for s in spans if s is not request and s.parent_id not in index]
    assert not orphans, f"spans whose parent is missing from the trace: {orphans}{context}"

    def child(parent: SpanRecord, what: str, match: Callable[[SpanRecord], bool]) -> SpanRecord:
        return _one(spans, what, lambda s: s.parent_id == parent.span_id and match(s))

    # HTTP → gRPC client → gRPC server (extraction) → outbox relay's send → job consumer's process.
    client = child(request, "gRPC client span", lambda s: s.kind == "CLIENT" and s.name == CREATE_EXTRACTION)
    server = child(client, "gRPC server span", lambda s: _service(s) == "extraction" and s.kind == "SERVER")
    send_job = child(
        server, "send of the job", lambda s: s.kind == "PRODUCER" and s.name == f"send {JOBS_TOPIC}"
    )
    assert send_job.attributes["messaging.system"] == "kafka" and _service(send_job) == "extraction"
    process_job = child(send_job, "job process span", lambda s: s.kind == "CONSUMER")
    assert process_job.name == f"process {JOBS_TOPIC}" and process_job.links == (
        (send_job.trace_id, send_job.span_id),
    )
    assert process_job.attributes["messaging.consumer.group.name"].endswith(".extraction.jobs")

    # The worker's completion event → webhooks' process span → the attempt → its HTTP client span.
    send_done = _one(
        spans,
        "send of extraction.completed",
        lambda s: s.attributes.get("cloudevents.event_type") == COMPLETED and s.kind == "PRODUCER",
    )
    assert _is_ancestor(process_job, send_done, index), context
    processed = [s for s in spans if s.parent_id == send_done.span_id and s.kind == "CONSUMER"]
    by_service = {_service(s): s for s in processed}
    assert {"webhooks", "usage"} <= set(by_service), context
    for s in processed:
        assert s.links == ((send_done.trace_id, send_done.span_id),)
        assert s.attributes["cloudevents.event_subject"] == observed.extraction_id
    deliver = child(by_service["webhooks"], "webhook attempt", lambda s: s.name == "deliver webhook")
    post = child(deliver, "webhook HTTP client span", lambda s: s.kind == "CLIENT")
    assert post.name == "POST" and post.attributes["http.response.status_code"] == 200

    # Calls between services, queries and object reads appear as child spans where they happen.
    reserve = _one(
        spans,
        "usage Reserve",
        lambda s: _service(s) == "usage" and s.name.endswith("/Reserve") and s.kind == "SERVER",
    )
    get_file = [
        s for s in spans if _service(s) == "files" and s.name.endswith("/GetFile") and s.kind == "SERVER"
    ]
    assert _is_ancestor(server, reserve, index) and get_file and _is_ancestor(server, get_file[0], index)
    queries = [s for s in spans if "db.system" in s.attributes or "db.system.name" in s.attributes]
    assert {_service(q) for q in queries} >= {"gateway", "extraction", "webhooks", "usage", "files"}, context
    assert any(_is_ancestor(server, q, index) for q in queries)
    read = [s for s in spans if s.name == "S3.GetObject" and _service(s) == "extraction"]
    assert read and _is_ancestor(process_job, read[0], index), context
    assert read[0].attributes["rpc.system"] == "aws-api" and read[0].attributes["aws.s3.key"]
    # The engine runs in a child process and reports its timings; the worker draws them as spans
    # of the job: the call, then reading (one span per page, OCR under it when it ran), then fields.
    engine = _one(spans, "engine call", lambda s: s.name == "engine extract")
    assert _service(engine) == "extraction" and _is_ancestor(process_job, engine, index), context
    engine_read = child(engine, "engine read span", lambda s: s.name == "engine read")
    page = child(engine_read, "page span", lambda s: s.name == "engine read page")
    assert (
        page.attributes["fieldstone.page.number"] == 1 and page.attributes["fieldstone.page.source"] == "pdf"
    )
    resolve = child(engine, "field resolution span", lambda s: s.name == "engine resolve fields")
    assert engine.start <= engine_read.start <= page.start <= resolve.start, context
    # Nothing in the trace started before the request or failed.
    assert all(s.start >= request.start for s in spans)
    assert not [s.name for s in spans if s.status == "ERROR"], context


# -- metrics ------------------------------------------------------------------------------------


def _scrape(stack: Stack, service: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(stack.p.metrics_url(service), timeout=5).text
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """The sum of `name` over the samples whose labels include `labels` (0 when none)."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def _declared(stack: Stack, service: str) -> set[str]:
    text = httpx.get(stack.p.metrics_url(service), timeout=5).text
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def test_every_service_exposes_the_metrics_an_operator_alerts_on(observed: Observed) -> None:
    stack = observed.stack
    assert observed.quota_status == 429
    gateway = _scrape(stack, "gateway")
    route = {"http_request_method": "POST", "http_route": "/v1/extractions"}
    assert (
        _value(
            gateway, "http_server_request_duration_seconds_count", **route, http_response_status_code="202"
        )
        == 1
    )
    assert (
        _value(
            gateway, "http_server_request_duration_seconds_count", **route, http_response_status_code="429"
        )
        == 1
    )
    # The file was polled until uploaded: requests are counted per route template, not per path.
    files_route = {"http_request_method": "GET", "http_route": "/v1/files/{file_id}"}
    assert _value(gateway, "http_server_request_duration_seconds_count", **files_route) >= 2

    def rpc(samples: dict[Any, float], method: str, code: int) -> float:
        service, _, name = method.lstrip("/").rpartition("/")
        return _value(
            samples,
            "rpc_server_call_duration_seconds_count",
            rpc_service=service,
            rpc_method=name,
            rpc_grpc_status_code=str(code),
        )

    extraction, usage = _scrape(stack, "extraction"), _scrape(stack, "usage")
    assert rpc(extraction, CREATE_EXTRACTION, 0) == 1  # OK
    assert rpc(extraction, CREATE_EXTRACTION, 8) == 1  # RESOURCE_EXHAUSTED: the quota
    assert rpc(usage, "/fieldstone.usage.v1.UsageService/Reserve", 0) == 1
    assert rpc(usage, "/fieldstone.usage.v1.UsageService/Reserve", 8) == 1
    assert _value(usage, "fieldstone_quota_rejections_total", plan="free") == 1
    assert _value(extraction, "fieldstone_extraction_jobs_total", status="completed") == 1
    assert _value(extraction, "fieldstone_extraction_job_duration_seconds_count", status="completed") == 1
    assert (
        _value(_scrape(stack, "auth"), "rpc_server_call_duration_seconds_count", rpc_method="VerifyApiKey")
        >= 1
    )

    # Jobs: the worker published one job and one completion (its outbox: exact counts); it consumed
    # at least that job (the topics are shared with other stacks on the same broker, whose records
    # it reads and skips, so consumed counts are at least, not exactly).
    jobs = {"messaging_destination_name": JOBS_TOPIC}
    assert _value(extraction, "messaging_client_consumed_messages_total", **jobs) >= 1
    assert _value(extraction, "messaging_process_duration_seconds_count", **jobs, error_type="") >= 1
    assert (
        _value(
            extraction,
            "messaging_client_sent_messages_total",
            messaging_destination_name=EXTRACTIONS_TOPIC,
            cloudevents_event_type=COMPLETED,
        )
        == 1
    )
    assert (
        _value(extraction, "messaging_client_sent_messages_total", messaging_destination_name=JOBS_TOPIC) == 1
    )
    # Pages by reading method (one text page here); OCR time per page is declared for scans.
    assert _value(extraction, "fieldstone_extraction_pages_total", method="text") == 1
    assert _value(extraction, "fieldstone_extraction_pages_total", method="ocr") == 0
    assert "fieldstone_ocr_page_duration_seconds" in _declared(stack, "extraction")

    # Webhooks: one delivery, nothing waiting, no endpoint disabled.
    def webhooks_settled() -> bool:
        webhooks = _scrape(stack, "webhooks")
        assert _value(webhooks, "fieldstone_webhook_deliveries_total", outcome="delivered") == 1
        assert _value(webhooks, "fieldstone_webhook_deliveries_total") == 1
        assert _value(webhooks, "fieldstone_webhook_attempt_duration_seconds_count", result="succeeded") == 1
        for state in ("due", "scheduled", "in_flight"):
            assert ("fieldstone_webhook_backlog_events", frozenset({("state", state)})) in webhooks
            assert _value(webhooks, "fieldstone_webhook_backlog_events", state=state) == 0
        assert _value(webhooks, "fieldstone_webhook_endpoints_disabled") == 0
        assert ("fieldstone_webhook_endpoints_disabled", frozenset({("reason", "gone")})) in webhooks
        assert (
            _value(
                webhooks,
                "messaging_client_consumed_messages_total",
                messaging_destination_name=EXTRACTIONS_TOPIC,
            )
            >= 1
        )
        return True

    _until("webhook metrics to settle", webhooks_settled, timeout=20)

    # Every service: its outbox is drained and every consumer group has caught up.
    def drained(service: str) -> bool:
        samples = _scrape(stack, service)
        if service != "gateway":
            assert ("fieldstone_outbox_backlog_events", frozenset()) in samples
            assert _value(samples, "fieldstone_outbox_backlog_events") == 0
            assert _value(samples, "fieldstone_outbox_oldest_age_seconds") == 0
        lag = [k for k in samples if k[0] == "fieldstone_consumer_lag_messages"]
        if service in ("gateway", "files", "extraction", "webhooks", "usage"):
            assert lag, f"{service} reports no consumer lag"
        assert _value(samples, "fieldstone_consumer_lag_messages") == 0
        return True

    for service in SERVICES:
        _until(
            f"{service}'s outbox and consumers to catch up", functools.partial(drained, service), timeout=20
        )
    assert (
        _value(
            extraction, "fieldstone_outbox_publish_delay_seconds_count", messaging_destination_name=JOBS_TOPIC
        )
        == 1
    )


# -- logs ---------------------------------------------------------------------------------------


def test_logs_carry_the_trace_and_the_ids_and_no_secret(observed: Observed) -> None:
    stack = observed.stack
    assert stack.p.traces_dir is not None
    trace_id = _extraction_trace(stack.p.traces_dir)[0].trace_id
    lines = []
    for service in SERVICES:
        text = stack.log_file(service).read_text(errors="replace")
        for what, pattern in SECRETS:
            found = pattern.search(text)
            assert found is None, f"{service}.log contains {what}"
        for line in text.splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
            else:
                raise AssertionError(f"{service}.log has a line that is not JSON: {line[:200]}")
    correlated = [
        entry
        for entry in lines
        if entry.get("trace_id") == trace_id and entry.get("extraction_id") == observed.extraction_id
    ]
    assert correlated, "no log line names both the extraction and its trace"
    assert {e["service"] for e in correlated} >= {"extraction"}
    assert all(len(e["span_id"]) == 16 for e in correlated)


# -- the cost of tracing ------------------------------------------------------------------------


@pytest.mark.bench
def test_tracing_overhead_on_the_walking_skeleton(tmp_path: Path) -> None:
    """Latency of POST /v1/extractions and of upload-to-webhook with tracing off and on (file exporter,
    every span recorded). Two stacks run side by side and take turns, so both see the same machine."""
    rounds = int(os.environ.get("FIELDSTONE_TRACING_BENCH_ROUNDS", "20"))
    samples: dict[str, tuple[list[float], list[float]]] = {"off": ([], []), "on": ([], [])}
    with contextlib.ExitStack() as running_stacks:
        clients: dict[str, tuple[Api, Receiver]] = {}
        for offset, (label, traced) in enumerate((("off", False), ("on", True))):
            port = 29180 + offset * 100
            profile = _profile(tmp_path / label, http_port=port, grpc_base=port + 20, traced=traced)
            receiver = running_stacks.enter_context(webhook_receiver())
            stack = running_stacks.enter_context(running(profile))
            api = _api(stack, "pro")
            assert api.post("/v1/webhook-endpoints", {"url": receiver.url}).status_code == 201
            for i in range(2):  # warm-up: connections, caches, the engine's first import
                _extract_once(api, receiver, i)
            clients[label] = (api, receiver)
        for i in range(rounds):
            for label in ("off", "on") if i % 2 == 0 else ("on", "off"):
                api, receiver = clients[label]
                _, answered, end_to_end = _extract_once(api, receiver, len(receiver.requests))
                samples[label][0].append(answered)
                samples[label][1].append(end_to_end)

    def summary(label: str) -> tuple[float, float]:
        return statistics.median(samples[label][0]), statistics.median(samples[label][1])

    (post_off, e2e_off), (post_on, e2e_on) = summary("off"), summary("on")
    report = (
        f"tracing overhead, {rounds} extractions each, medians: "
        f"POST /v1/extractions {post_off * 1000:.1f} ms off, {post_on * 1000:.1f} ms on "
        f"({(post_on / post_off - 1) * 100:+.1f} %); POST to webhook received {e2e_off * 1000:.0f} ms off, "
        f"{e2e_on * 1000:.0f} ms on ({(e2e_on / e2e_off - 1) * 100:+.1f} %)"
    )
    print(report)  # noqa: T201 - the measurement is the output
    Path(os.environ.get("FIELDSTONE_TRACING_BENCH_OUT", tmp_path / "overhead.txt")).write_text(report + "\n")
