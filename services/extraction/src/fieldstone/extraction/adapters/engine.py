"""Runs the extraction engine (libs/extract) in a child process of its own (engine_child.py).

One `SandboxedEngine` per worker slot keeps one long-lived child, so the engine's imports are
paid once, not per document. The child runs under an address-space limit; the worker enforces
the time limit. A child that dies (segfault, out of memory) raises EngineCrashed and is
replaced on the next call; a timeout or a cancel (the job was canceled) kills it on the spot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import StatusCode

from fieldstone.common.logging import get_logger
from fieldstone.common.metrics import EXTRACTION_PAGES, OCR_PAGE_DURATION
from fieldstone.extraction.adapters.engine_child import REPLY, REQUEST
from fieldstone.extraction.domain.model import EngineCrashed, EngineOutcome

log = get_logger(__name__)
_tracer = trace.get_tracer(__name__)
CHILD = [sys.executable, "-m", "fieldstone.extraction.adapters.engine_child"]


def _describe(returncode: int | None) -> str:
    if returncode is None:
        return "no exit status"
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-returncode).name}"
    return f"exit status {returncode}"


def record_engine_run(out: dict[str, Any]) -> None:
    """Page metrics, and the engine's spans under the current one, from the child's timing report.

    The engine runs in another process and knows nothing of tracing; it reports when each phase
    and page began and how long it took (same machine, same wall clock), and the spans are drawn
    here with those times: read → one span per page → its OCR, then field resolution.
    """
    pages: list[dict[str, Any]] = list(out.get("pages") or [])
    ocr_engine = str(out.get("ocrEngine") or "unknown")
    for page in pages:
        EXTRACTION_PAGES.labels("ocr" if page.get("ocr") else "text").inc()
        if page.get("ocr"):
            OCR_PAGE_DURATION.labels(ocr_engine).observe(float(page.get("ocrMs") or 0.0) / 1000)
    started = int(out.get("startedUnixNano") or 0)
    if not started or not trace.get_current_span().is_recording():
        return

    def at(ms: float) -> int:
        return started + int(ms * 1_000_000)

    phases = {phase["name"]: phase for phase in out.get("phases") or []}
    if read := phases.get("read"):
        read_span = _tracer.start_span(
            "engine read",
            start_time=at(read["offsetMs"]),
            attributes={"fieldstone.document.pages": len(pages)},
        )
        under_read = trace.set_span_in_context(read_span)
        for page in pages:
            begin, took = float(page.get("offsetMs") or 0.0), float(page.get("ms") or 0.0)
            page_span = _tracer.start_span(
                "engine read page",
                context=under_read,
                start_time=at(begin),
                attributes={
                    "fieldstone.page.number": int(page["page"]),
                    "fieldstone.page.source": str(page.get("source")),
                    "fieldstone.page.ocr": bool(page.get("ocr")),
                },
            )
            if page.get("ocr"):
                ocr_ms = float(page.get("ocrMs") or 0.0)
                ocr_span = _tracer.start_span(
                    "ocr page",
                    context=trace.set_span_in_context(page_span),
                    start_time=at(begin + took - ocr_ms),
                    attributes={
                        "fieldstone.page.number": int(page["page"]),
                        "fieldstone.ocr.engine": ocr_engine,
                    },
                )
                ocr_span.end(end_time=at(begin + took))
            page_span.end(end_time=at(begin + took))
        read_span.end(end_time=at(read["offsetMs"] + read["ms"]))
    if resolve := phases.get("resolve"):
        resolve_span = _tracer.start_span(
            "engine resolve fields",
            start_time=at(resolve["offsetMs"]),
            attributes={
                "fieldstone.fields": len(out.get("fields") or []),
                "fieldstone.engine.backend": str(out.get("backend")),
            },
        )
        resolve_span.end(end_time=at(resolve["offsetMs"] + resolve["ms"]))


class SandboxedEngine:
    def __init__(
        self, *, timeout_seconds: float, memory_mb: int = 0, command: list[str] | None = None
    ) -> None:
        self._timeout = timeout_seconds
        self._command = [*(command or CHILD), str(memory_mb)]
        self._child: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._warming: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the child ahead of the first job (optional; calls start it when needed)."""
        async with self._lock:
            await self._process()

    def warm_up(self) -> None:
        """Start the child in the background, so the first job does not pay for its imports."""

        async def start() -> None:
            try:
                await self.start()
            except Exception:
                log.exception("engine process did not start; the next job tries again")

        self._warming = asyncio.create_task(start())

    async def _process(self) -> asyncio.subprocess.Process:
        if self._child is None or self._child.returncode is not None:
            self._child = await asyncio.create_subprocess_exec(
                *self._command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
            )
        return self._child

    async def __call__(
        self,
        data: bytes,
        variables: list[dict[str, Any]],
        *,
        pages: str | None,
        filename: str | None,
        max_pages: int,
    ) -> EngineOutcome:
        with _tracer.start_as_current_span(
            "engine extract", attributes={"fieldstone.document.bytes": len(data)}
        ) as span:
            try:
                request = {
                    "variables": variables,
                    "pages": pages,
                    "filename": filename,
                    "maxPages": max_pages,
                }
                reply = await self._run(json.dumps(request).encode(), data)
            except EngineCrashed as exc:
                span.set_status(StatusCode.ERROR, str(exc))
                span.set_attribute("error.type", "ENGINE_CRASHED")
                raise
            if "error" in reply:
                error = reply["error"]
                span.set_attribute("error.type", error["code"])
                if error["code"] == "EXTRACTION_TIMEOUT":
                    span.set_status(StatusCode.ERROR, error["message"])
                return EngineOutcome(None, [], None, error["code"], error["message"])
            out = reply["ok"]
            span.set_attribute("fieldstone.document.pages", int(out.get("pageCount") or 0))
            record_engine_run(out)
        return EngineOutcome(out["extractedData"], list(out.get("fields", [])), out.get("pageCount"))

    async def _run(self, request: bytes, data: bytes) -> dict[str, Any]:
        """One exchange with the child: its reply, or an error reply for a timeout."""
        async with self._lock:
            child = await self._process()
            try:
                async with asyncio.timeout(self._timeout):
                    reply = await self._exchange(child, request, data)
            except TimeoutError:
                await self._kill()
                message = f"the engine took longer than {self._timeout:g} s"
                return {"error": {"code": "EXTRACTION_TIMEOUT", "message": message}}
            except asyncio.CancelledError:
                await self._kill()  # the job was canceled or the worker is stopping
                raise
            except (asyncio.IncompleteReadError, BrokenPipeError, ConnectionResetError) as exc:
                returncode = await self._kill(grace=2.0)  # let it finish dying: report why
                raise EngineCrashed(f"the engine process died ({_describe(returncode)})") from exc
            if "crash" in reply:
                await self._kill()
                raise EngineCrashed(str(reply["crash"]))
        return reply

    @staticmethod
    async def _exchange(child: asyncio.subprocess.Process, request: bytes, data: bytes) -> dict[str, Any]:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(REQUEST.pack(len(request), len(data)) + request)
        child.stdin.write(data)
        await child.stdin.drain()
        (length,) = REPLY.unpack(await child.stdout.readexactly(REPLY.size))
        reply: dict[str, Any] = json.loads(await child.stdout.readexactly(length))
        return reply

    async def _kill(self, grace: float = 0.0) -> int | None:
        child, self._child = self._child, None
        if child is None:
            return None
        if grace:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(child.wait()), grace)
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
        with contextlib.suppress(Exception):
            await asyncio.shield(child.wait())
        log.info("engine process stopped", pid=child.pid, how=_describe(child.returncode))
        return child.returncode

    async def close(self) -> None:
        await self._kill()
