"""Client spans for every asyncpg query (OpenTelemetry's asyncpg instrumentation)."""

from __future__ import annotations

from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

_instrumentor = AsyncPGInstrumentor(capture_parameters=False)  # type: ignore[no-untyped-call]


def instrument_queries() -> None:
    """Wrap asyncpg so each query is a CLIENT span (SQL text, never its parameters).

    Called at start-up only when traces are exported: the wrappers cost a little on every query.
    """
    if not _instrumentor.is_instrumented_by_opentelemetry:
        _instrumentor.instrument()
