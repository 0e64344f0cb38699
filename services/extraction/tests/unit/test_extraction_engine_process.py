"""The engine runs in a child process: a crash, a hang or a cancel costs that process only."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from fpdf import FPDF

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
