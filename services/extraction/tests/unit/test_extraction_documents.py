"""Reading a document: transient storage failures are retried with backoff, up to a limit."""

from __future__ import annotations

from typing import Any

import pytest
from minio.error import S3Error

from fieldstone.extraction.adapters.documents import StoredDocuments
from fieldstone.extraction.domain.model import DocumentUnavailable


class FlakyBlobs:
    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def read(self, bucket: str, key: str) -> bytes:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return b"%PDF-1.7"


def s3_error(code: str) -> S3Error:
    return S3Error(None, code, "message", "/b/k", "req", "host")  # type: ignore[arg-type]


def documents(blobs: Any, attempts: int = 4) -> StoredDocuments:
    return StoredDocuments(blobs, attempts=attempts, initial_wait=0.01, max_wait=0.02)


async def test_transient_failures_are_retried_until_the_read_succeeds() -> None:
    blobs = FlakyBlobs(ConnectionResetError("reset"), s3_error("SlowDown"), TimeoutError())
    assert await documents(blobs).read("b", "k") == b"%PDF-1.7"
    assert blobs.calls == 4


async def test_storage_that_stays_down_fails_the_job_after_the_limit() -> None:
    blobs = FlakyBlobs(*[ConnectionRefusedError("down")] * 10)
    with pytest.raises(DocumentUnavailable) as failed:
        await documents(blobs, attempts=3).read("b", "k")
    assert failed.value.code == "STORAGE_UNAVAILABLE" and "after 3 tries" in failed.value.message
    assert blobs.calls == 3


async def test_a_missing_object_is_final_at_once() -> None:
    blobs = FlakyBlobs(s3_error("NoSuchKey"))
    with pytest.raises(DocumentUnavailable) as failed:
        await documents(blobs).read("b", "k")
    assert failed.value.code == "FILE_MISSING" and blobs.calls == 1
