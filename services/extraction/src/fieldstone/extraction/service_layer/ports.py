"""What the use cases need from the outside world (adapters implement these; tests fake them)."""

from __future__ import annotations

from typing import Any, Protocol

from fieldstone.extraction.domain.model import EngineOutcome, FileInfo, PlanLimits


class Files(Protocol):
    async def get(self, workspace_id: str, file_id: str) -> FileInfo: ...


class Quota(Protocol):
    async def reserve(self, workspace_id: str, reservation_id: str) -> None: ...

    async def release(self, workspace_id: str, reservation_id: str) -> None: ...

    async def plan_limits(self, workspace_id: str) -> PlanLimits: ...


class Documents(Protocol):
    async def read(self, bucket: str, key: str) -> bytes:
        """The stored bytes; DocumentUnavailable when missing or storage stays down."""
        ...


class Engine(Protocol):
    async def __call__(
        self,
        data: bytes,
        variables: list[dict[str, Any]],
        *,
        pages: str | None,
        filename: str | None,
        max_pages: int,
    ) -> EngineOutcome:
        """Run the engine; EngineCrashed when it died. Cancelling the call stops it."""
        ...
