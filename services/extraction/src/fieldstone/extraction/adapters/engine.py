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

from fieldstone.common.logging import get_logger
from fieldstone.extraction.adapters.engine_child import REPLY, REQUEST
from fieldstone.extraction.domain.model import EngineCrashed, EngineOutcome

log = get_logger(__name__)
CHILD = [sys.executable, "-m", "fieldstone.extraction.adapters.engine_child"]


def _describe(returncode: int | None) -> str:
    if returncode is None:
        return "no exit status"
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-returncode).name}"
    return f"exit status {returncode}"


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
        request = json.dumps(
            {"variables": variables, "pages": pages, "filename": filename, "maxPages": max_pages}
        ).encode()
        async with self._lock:
            child = await self._process()
            try:
                async with asyncio.timeout(self._timeout):
                    reply = await self._exchange(child, request, data)
            except TimeoutError:
                await self._kill()
                return EngineOutcome(
                    None, [], None, "EXTRACTION_TIMEOUT", f"the engine took longer than {self._timeout:g} s"
                )
            except asyncio.CancelledError:
                await self._kill()  # the job was canceled or the worker is stopping
                raise
            except (asyncio.IncompleteReadError, BrokenPipeError, ConnectionResetError) as exc:
                returncode = await self._kill(grace=2.0)  # let it finish dying: report why
                raise EngineCrashed(f"the engine process died ({_describe(returncode)})") from exc
            if "crash" in reply:
                await self._kill()
                raise EngineCrashed(str(reply["crash"]))
        if "error" in reply:
            return EngineOutcome(None, [], None, reply["error"]["code"], reply["error"]["message"])
        out = reply["ok"]
        return EngineOutcome(out["extractedData"], list(out.get("fields", [])), out.get("pageCount"))

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
