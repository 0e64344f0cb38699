"""OpenTelemetry tracing setup, configured by the standard OTEL_* variables.

Exporting is off unless one switch turns it on:
- OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT): OTLP/HTTP to a collector;
- OTEL_TRACES_EXPORTER=console: spans on stdout;
- FIELDSTONE_TRACES_FILE=<path>: one JSON span per line appended to <path> (the local stack's
  `fieldstone-stack traces` pretty-prints them; the end-to-end trace test reads them).
OTEL_TRACES_EXPORTER=none wins over all of them. Off, spans are not recorded at all (the
sampler drops them), but trace ids are still made and propagated, so logs keep carrying them.
Sampling while on follows OTEL_TRACES_SAMPLER (default: parent-based, always on).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import IO, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider, sampling
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes

TRACES_FILE = "FIELDSTONE_TRACES_FILE"


class JsonLinesSpanExporter(SpanExporter):
    """Appends each finished span as one JSON line (the SDK's own JSON form of a span)."""

    def __init__(self, path: str) -> None:
        self._file: IO[str] = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed at shutdown

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._file.write("".join(span.to_json(indent=None) + "\n" for span in spans))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._file.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self._file.flush()
        return True


class SkipOrphanQueries(sampling.Sampler):
    """Drops database spans that have no parent: the polls of the outbox relay, the webhook
    dispatcher and the sweepers would otherwise each make a one-span trace every second.
    Queries made while handling a request or a message are kept (their parent decides)."""

    def __init__(self, delegate: sampling.Sampler) -> None:
        self._delegate = delegate

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> sampling.SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        if (
            not parent.is_valid
            and attributes
            and ("db.system" in attributes or "db.system.name" in attributes)
        ):
            return sampling.SamplingResult(sampling.Decision.DROP)
        return self._delegate.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"SkipOrphanQueries{{{self._delegate.get_description()}}}"


def _exporters() -> list[SpanExporter]:
    env = os.environ
    kinds = {k.strip() for k in env.get("OTEL_TRACES_EXPORTER", "").split(",") if k.strip()}
    if "none" in kinds or env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return []
    exporters: list[SpanExporter] = []
    otlp = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if "otlp" in kinds or (otlp and not kinds):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporters.append(OTLPSpanExporter())
    if "console" in kinds:
        exporters.append(ConsoleSpanExporter())
    if env.get(TRACES_FILE):
        exporters.append(JsonLinesSpanExporter(env[TRACES_FILE]))
    return exporters


def configure_tracing(service: str) -> TracerProvider:
    """Install the process's tracer provider; `tracing_enabled()` tells whether spans are exported."""
    global _enabled
    # The stable HTTP and database attribute names (http.request.method, db.query.text...).
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http,database")
    exporters = _exporters()
    _enabled = bool(exporters)
    sampler: sampling.Sampler = (
        SkipOrphanQueries(sampling._get_from_env_or_default()) if exporters else sampling.ALWAYS_OFF
    )
    resource = Resource.create({"service.name": f"fieldstone-{service}", "service.namespace": "fieldstone"})
    provider = TracerProvider(resource=resource, sampler=sampler)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


_enabled = False


def tracing_enabled() -> bool:
    """Whether configure_tracing found an exporter (instrumentation that costs is installed only then)."""
    return _enabled


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)
