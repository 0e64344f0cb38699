"""Fakes of the extraction service's neighbours (files, usage, storage, engine) for tests that
run the use cases on the real Postgres."""

from __future__ import annotations

import asyncio
from typing import Any

from fieldstone.common.errors import NotFound, QuotaExceeded
from fieldstone.extraction.domain.model import EngineOutcome, FileInfo, PlanLimits

VARIABLES = [{"key": "total", "type": "number", "context": "Total"}]


class FakeFiles:
    def __init__(self, status: str = "uploaded") -> None:
        self.status: dict[str, str] = {}
        self.default = status

    async def get(self, workspace_id: str, file_id: str) -> FileInfo:
        if workspace_id != "ws_1" or file_id.startswith("missing"):
            raise NotFound(f"file {file_id} not found")
        status = self.status.get(file_id, self.default)
        return FileInfo(file_id, f"{file_id}.pdf", status, "b", f"files/ws_1/{file_id}", "TYPE_MISMATCH")


class FakeQuota:
    def __init__(self, limit: int = 100, max_pages: int = 50, batch_size: int = 10) -> None:
        self.reserved: list[str] = []
        self.limit = limit
        self.limits = PlanLimits("starter", max_pages, batch_size)

    async def reserve(self, workspace_id: str, reservation_id: str) -> None:
        if len(self.reserved) >= self.limit:
            raise QuotaExceeded("limit reached")
        self.reserved.append(reservation_id)

    async def release(self, workspace_id: str, reservation_id: str) -> None:
        self.reserved.remove(reservation_id)

    async def plan_limits(self, workspace_id: str) -> PlanLimits:
        return self.limits


class FakeDocuments:
    async def read(self, bucket: str, key: str) -> bytes:
        return b"%PDF-1.7 " + key.encode()


class FakeEngine:
    """Answers `outcome`; with `hold`, waits for it to be set first (a long-running document)."""

    def __init__(self, outcome: EngineOutcome | None = None, hold: bool = False) -> None:
        self.outcome = outcome or EngineOutcome({"total": 5.0}, [{"path": "total", "value": 5.0}], 1)
        self.release = asyncio.Event()
        if not hold:
            self.release.set()
        self.calls: list[dict[str, Any]] = []
        self.started = asyncio.Event()
        self.cancelled = False

    async def __call__(
        self,
        data: bytes,
        variables: list[dict[str, Any]],
        *,
        pages: str | None,
        filename: str | None,
        max_pages: int,
    ) -> EngineOutcome:
        self.calls.append({"data": data, "max_pages": max_pages, "pages": pages})
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return self.outcome
