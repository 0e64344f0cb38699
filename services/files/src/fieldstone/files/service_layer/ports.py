"""What the use cases need from outside: the uploads bucket, the plan limits, a PDF inspector."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from fieldstone.files.domain import model
from fieldstone.files.service_layer.unit_of_work import FilesUnitOfWork


class StoredObject(Protocol):
    @property
    def size(self) -> int: ...
    @property
    def etag(self) -> str: ...


class Store(Protocol):
    """The uploads bucket (fieldstone.blob.BlobStore)."""

    async def upload_url(self, bucket: str, key: str, expires: timedelta, issued_at: datetime) -> str: ...
    async def download_url(self, bucket: str, key: str, expires: timedelta) -> str: ...
    async def stat(self, bucket: str, key: str) -> StoredObject | None: ...
    async def read_version(
        self, bucket: str, key: str, etag: str, *, offset: int = 0, length: int = 0
    ) -> bytes: ...
    async def promote(self, bucket: str, source: str, target: str, etag: str) -> None: ...
    async def remove(self, bucket: str, key: str) -> None: ...
    async def put(self, bucket: str, key: str, data: bytes, content_type: str = ...) -> None: ...


class PlanLimits(Protocol):
    """The workspace plan's per-file limits (adapters/plan_limits.py)."""

    async def for_workspace(self, workspace_id: str) -> model.Limits: ...


@dataclass(frozen=True)
class Uploads:
    """Everything the use cases need besides a unit of work."""

    store: Store
    limits: PlanLimits
    inspect_pdf: Callable[[bytes], Awaitable[model.PdfFacts]]
    bucket: str
    upload_ttl: timedelta
    download_ttl: timedelta = timedelta(minutes=5)
    # An upload that started just before its URL expired may still be arriving.
    expiry_grace: timedelta = timedelta(seconds=60)
    inline_max_bytes: int = 10 * 1024 * 1024


UowFactory = Callable[[], FilesUnitOfWork]
