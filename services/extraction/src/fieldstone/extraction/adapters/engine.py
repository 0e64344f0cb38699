"""Runs the extraction engine (libs/extract) on a stored document.

The engine is CPU-bound and synchronous, so it runs in a worker thread with a timeout;
its own errors (unreadable, encrypted, too many pages...) become a failed extraction.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fieldstone.blob import BlobStore
from fieldstone.extract import ExtractError, extract
from fieldstone.extraction.domain.model import EngineOutcome, ExtractionRecord


class DocumentEngine:
    def __init__(self, blobs: BlobStore, *, max_pages: int, timeout_seconds: float) -> None:
        self._blobs = blobs
        self._max_pages = max_pages
        self._timeout = timeout_seconds

    async def __call__(self, record: ExtractionRecord) -> EngineOutcome:
        if not record.bucket or not record.object_key:
            return EngineOutcome(None, [], None, "FILE_MISSING", "the document has no stored content")
        data = await self._blobs.read(record.bucket, record.object_key)
        try:
            async with asyncio.timeout(self._timeout):
                out = await asyncio.to_thread(
                    extract,
                    data,
                    record.variables,
                    pages=record.pages,
                    filename=record.file_name,
                    max_pages=self._max_pages,
                )
        except ExtractError as exc:
            return EngineOutcome(None, [], None, exc.code, str(exc))
        except TimeoutError:
            return EngineOutcome(
                None, [], None, "EXTRACTION_TIMEOUT", f"extraction took longer than {self._timeout:.0f} s"
            )
        result: dict[str, Any] = out.to_dict()
        return EngineOutcome(out.extracted_data, list(result.get("fields", [])), out.page_count)
