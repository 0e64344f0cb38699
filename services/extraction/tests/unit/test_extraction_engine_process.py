"""The engine runs in a child process: a crash, a hang or a cancel costs that process only."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

import pytest
from fpdf import FPDF
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from fieldstone.extraction.adapters.engine import SandboxedEngine
from fieldstone.extraction.domain.model import EngineCrashed

FAKE = [sys.executable, str(Path(__file__).with_name("extraction_fake_engine.py"))]
VARIABLES = [{"key": "invoice_number", "type": "string", "context": "Invoice number"}]


def invoice() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.cell(0, 8, "Invoice Number: INV-42", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead too
        return stat.read().split()[2] != "Z"


async def run(engine: SandboxedEngine, data: bytes) -> dict[str, object]:
    out = await engine(data, VARIABLES, pages=None, filename="a.pdf", max_pages=10)
    return {"data": out.extracted_data, "code": out.error_code, "error": out.error, "pages": out.page_count}


async def test_the_real_engine_extracts_and_reports_unreadable_documents_as_errors() -> None:
    engine = SandboxedEngine(timeout_seconds=30, memory_mb=2048)
    try:
        done = await run(engine, invoice())
        assert done["data"] == {"invoice_number": "INV-42"} and done["pages"] == 1
        truncated = await run(engine, invoice()[:400])
        assert truncated["code"] == "UNREADABLE_PDF" and truncated["data"] is None
        garbage = await run(engine, b"\x00\x01garbage")
        assert garbage["code"] == "UNREADABLE_PDF" and garbage["error"]
        assert (await run(engine, invoice()))["data"] == {
            "invoice_number": "INV-42"
        }  # same child, still fine
    finally:
        await engine.close()


async def test_a_crashed_engine_raises_and_the_next_call_gets_a_fresh_process() -> None:
    engine = SandboxedEngine(timeout_seconds=10, command=FAKE)
    try:
        first = (await run(engine, b"doc"))["data"]
        assert isinstance(first, dict)
        with pytest.raises(EngineCrashed, match="killed by SIGSEGV"):
            await run(engine, b"crash")
        with pytest.raises(EngineCrashed, match="ValueError: boom"):
            await run(engine, b"raise")
        again = (await run(engine, b"doc"))["data"]
        assert isinstance(again, dict) and again["pid"] != first["pid"]
        assert not alive(int(first["pid"]))
    finally:
        await engine.close()


async def test_the_time_limit_kills_the_engine_and_fails_the_job() -> None:
    engine = SandboxedEngine(timeout_seconds=0.5, command=FAKE)
    try:
        pid = (await run(engine, b"doc"))["data"]["pid"]  # type: ignore[index]
        out = await run(engine, b"sleep")
        assert out["code"] == "EXTRACTION_TIMEOUT" and "0.5 s" in str(out["error"])
        assert not alive(pid)
    finally:
        await engine.close()


async def test_canceling_the_call_stops_the_engine_at_once() -> None:
    engine = SandboxedEngine(timeout_seconds=60, command=FAKE)
    try:
        pid = (await run(engine, b"doc"))["data"]["pid"]  # type: ignore[index]
        task = asyncio.create_task(run(engine, b"sleep"))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not alive(pid)
    finally:
        await engine.close()


async def test_the_memory_limit_applies_to_the_engine_process() -> None:
    # 16 MiB of address space is not even enough to start the engine: its process dies, the worker lives.
    engine = SandboxedEngine(timeout_seconds=30, memory_mb=16)
    try:
        with pytest.raises(EngineCrashed, match="the engine process died"):
            await run(engine, invoice())
    finally:
        await engine.close()


def scan() -> bytes:
    """A PNG of a typed line: an image input, so the page is read by OCR."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (900, 200), "white")
    ImageDraw.Draw(image).text(
        (40, 80), "Invoice Number: INV-77", fill="black", font=ImageFont.load_default(size=36)
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_the_engine_runs_draw_spans_under_the_job_and_count_pages(spans: InMemorySpanExporter) -> None:
    engine = SandboxedEngine(timeout_seconds=60, memory_mb=2048)
    text_before = sample("fieldstone_extraction_pages_total", {"method": "text"})
    ocr_before = sample("fieldstone_extraction_pages_total", {"method": "ocr"})
    try:
        with trace.get_tracer("test").start_as_current_span("job"):
            assert (await run(engine, invoice()))["data"] == {"invoice_number": "INV-42"}
            await engine(scan(), VARIABLES, pages=None, filename="scan.png", max_pages=10)
    finally:
        await engine.close()
    finished = spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in finished}
    job = next(s for s in finished if s.name == "job")

    def children(parent: ReadableSpan, name: str) -> list[ReadableSpan]:
        return [
            s for s in finished if s.name == name and s.parent and s.parent.span_id == parent.context.span_id
        ]

    runs = children(job, "engine extract")
    assert len(runs) == 2 and all(s.context.trace_id == job.context.trace_id for s in runs)
    for run_span, ocr in zip(sorted(runs, key=lambda s: s.start_time or 0), (False, True), strict=True):
        (read,) = children(run_span, "engine read")
        (resolve,) = children(run_span, "engine resolve fields")
        (page,) = children(read, "engine read page")
        assert page.attributes is not None and page.attributes["fieldstone.page.ocr"] is ocr
        # Drawn from the child's report, inside the span of the call that waited for it, in order.
        assert run_span.start_time is not None and run_span.end_time is not None
        assert read.start_time is not None and read.end_time is not None and resolve.start_time is not None
        assert run_span.start_time <= read.start_time <= read.end_time <= resolve.start_time
        assert resolve.end_time is not None and resolve.end_time <= run_span.end_time
        ocr_spans = children(page, "ocr page")
        assert len(ocr_spans) == (1 if ocr else 0)
        if ocr:
            (ocr_span,) = ocr_spans
            assert page.start_time is not None and ocr_span.start_time is not None
            assert page.start_time <= ocr_span.start_time and ocr_span.end_time == page.end_time
            engine_name = str((ocr_span.attributes or {})["fieldstone.ocr.engine"])
            assert sample("fieldstone_ocr_page_duration_seconds_count", {"engine": engine_name}) >= 1
    assert all(
        s.parent is None or s.parent.span_id in by_id or s is job
        for s in finished
        if s.name.startswith(("engine", "ocr"))
    )
    assert sample("fieldstone_extraction_pages_total", {"method": "text"}) == text_before + 1
    assert sample("fieldstone_extraction_pages_total", {"method": "ocr"}) == ocr_before + 1
