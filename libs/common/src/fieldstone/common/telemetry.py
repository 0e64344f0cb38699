"""OpenTelemetry tracing setup, configured by the standard OTEL_* variables.

Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_TRACES_EXPORTER=console) is set, so a
local stack pays nothing for it; ids still propagate so logs carry trace ids.
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter


def configure_tracing(service: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": f"fieldstone-{service}"}))
    exporter_kind = os.environ.get("OTEL_TRACES_EXPORTER", "")
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") and exporter_kind in ("", "otlp"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    elif exporter_kind == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)
