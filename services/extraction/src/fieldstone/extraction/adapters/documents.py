"""Reading stored documents, with bounded retries for transient storage failures.

A missing object is final (FILE_MISSING). Anything else — a network error, a 5xx, MinIO
restarting — is tried again with exponential backoff and jitter (tenacity); after the last
try the job fails with STORAGE_UNAVAILABLE instead of blocking its partition forever.
"""

from __future__ import annotations

from minio.error import S3Error
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from fieldstone.blob import BlobStore
from fieldstone.common.logging import get_logger
from fieldstone.extraction.domain.model import DocumentUnavailable

log = get_logger(__name__)
_MISSING = frozenset({"NoSuchKey", "NoSuchObject", "NoSuchBucket"})


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, S3Error):
        return exc.code not in _MISSING and exc.code not in ("AccessDenied", "InvalidAccessKeyId")
    return isinstance(exc, Exception)


class StoredDocuments:
    def __init__(
        self, blobs: BlobStore, *, attempts: int = 5, initial_wait: float = 0.5, max_wait: float = 8.0
    ):
        self._blobs = blobs
        self._attempts = attempts
        self._initial_wait = initial_wait
        self._max_wait = max_wait

    async def read(self, bucket: str, key: str) -> bytes:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential_jitter(
                multiplier=self._initial_wait, max=self._max_wait, jitter=self._initial_wait
            ),
            retry=retry_if_exception(_transient),
            before_sleep=lambda state: log.warning(
                "document read failed; retrying",
                bucket=bucket,
                key=key,
                attempt=state.attempt_number,
                error=repr(state.outcome.exception()) if state.outcome else None,
            ),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._blobs.read(bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise DocumentUnavailable("FILE_MISSING", "the stored document no longer exists") from exc
            raise DocumentUnavailable(
                "STORAGE_UNAVAILABLE", f"the document could not be read from storage ({exc.code})"
            ) from exc
        except Exception as exc:
            raise DocumentUnavailable(
                "STORAGE_UNAVAILABLE",
                f"the document could not be read from storage after {self._attempts} tries ({type(exc).__name__})",
            ) from exc
        raise AssertionError("unreachable: tenacity either returns or raises")
