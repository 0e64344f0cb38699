"""Tracing configuration, the span file, the sampler and the metric registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider, sampling
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from fieldstone.common import metrics, telemetry


def test_tracing_is_off_unless_one_switch_turns_it_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(telemetry.TRACES_FILE, raising=False)
    assert telemetry._exporters() == []
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert [type(e).__name__ for e in telemetry._exporters()] == ["OTLPSpanExporter"]
    monkeypatch.setenv(telemetry.TRACES_FILE, str(tmp_path / "spans.jsonl"))
    assert [type(e).__name__ for e in telemetry._exporters()] == ["OTLPSpanExporter", "JsonLinesSpanExporter"]
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert telemetry._exporters() == []


def test_spans_are_written_one_json_object_per_line(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    exporter = telemetry.JsonLinesSpanExporter(str(path))
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("parent"), tracer.start_as_current_span("child"):
        pass
    provider.shutdown()
    spans = [json.loads(line) for line in path.read_text().splitlines()]
    assert [s["name"] for s in spans] == ["child", "parent"]
    assert spans[0]["parent_id"] == spans[1]["context"]["span_id"]


def test_queries_without_a_parent_are_not_recorded() -> None:
    provider = TracerProvider(sampler=telemetry.SkipOrphanQueries(sampling.ALWAYS_ON))
    tracer = provider.get_tracer("test")
    poll = tracer.start_span("SELECT", attributes={"db.system.name": "postgresql"})
    assert not poll.is_recording()
    with tracer.start_as_current_span("process fieldstone.extractions.v1") as parent:
        assert parent.is_recording()
        query = tracer.start_span("SELECT", attributes={"db.system.name": "postgresql"})
        assert query.is_recording()
        assert query.get_span_context().trace_id == parent.get_span_context().trace_id


def test_off_still_makes_trace_ids_for_the_logs() -> None:
    provider = TracerProvider(sampler=sampling.ALWAYS_OFF)
    span = provider.get_tracer("test").start_span("request")
    assert not span.is_recording() and span.get_span_context().is_valid
    assert trace.format_trace_id(span.get_span_context().trace_id) != "0" * 32


def test_every_metric_is_declared_once_with_its_semantic_convention_name() -> None:
    text = metrics.exposition()[0].decode()
    declared = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]
    assert len(declared) == len(set(declared))
    for name in (
        "http_server_request_duration_seconds",
        "rpc_server_call_duration_seconds",
        "messaging_process_duration_seconds",
        "messaging_client_consumed_messages_total",
        "messaging_client_sent_messages_total",
        "fieldstone_consumer_lag_messages",
        "fieldstone_outbox_backlog_events",
        "fieldstone_outbox_oldest_age_seconds",
        "fieldstone_extraction_jobs_total",
        "fieldstone_extraction_job_duration_seconds",
        "fieldstone_extraction_pages_total",
        "fieldstone_ocr_page_duration_seconds",
        "fieldstone_webhook_deliveries_total",
        "fieldstone_webhook_attempt_duration_seconds",
        "fieldstone_webhook_backlog_events",
        "fieldstone_webhook_endpoints_disabled",
        "fieldstone_quota_rejections_total",
    ):
        assert name in declared, name
