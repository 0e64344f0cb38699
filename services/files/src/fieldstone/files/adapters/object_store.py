"""The uploads bucket: the shared `BlobStore` plus what verifying and deleting uploads needs.

Candidates for libs/blob (they are S3-generic): signing at a given instant, reads and copies that
only succeed while the object is unchanged (ETag match), removal, internal download URLs.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from minio.commonconfig import CopySource
from minio.error import S3Error

from fieldstone.blob import BlobStore


class ObjectChanged(Exception):
    """The object was replaced while it was being verified; verify it again."""


class UploadStore(BlobStore):
    async def upload_url(self, bucket: str, key: str, expires: timedelta, issued_at: datetime) -> str:
        """A presigned PUT for exactly `key`, valid from `issued_at` for `expires` (the file row keeps
        the same instant, so its `upload_expires_at` is the URL's own expiry)."""
        url: str = await asyncio.to_thread(
            self._signer.get_presigned_url, "PUT", bucket, key, expires, request_date=issued_at
        )
        return url

    async def download_url(self, bucket: str, key: str, expires: timedelta) -> str:
        """A presigned GET on the endpoint the services use (not the public one)."""
        url: str = await asyncio.to_thread(self._client.presigned_get_object, bucket, key, expires)
        return url

    async def read_version(
        self, bucket: str, key: str, etag: str, *, offset: int = 0, length: int = 0
    ) -> bytes:
        """Read the object only if it is still the version `etag` names."""

        def run() -> bytes:
            try:
                response = self._client.get_object(
                    bucket, key, offset=offset, length=length, request_headers={"If-Match": etag}
                )
            except S3Error as exc:
                if exc.code in ("PreconditionFailed", "NoSuchKey"):
                    raise ObjectChanged(f"{key} changed while being verified") from None
                raise
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        return await self._run("GetObject", bucket, key, run)

    async def promote(self, bucket: str, source: str, target: str, etag: str) -> None:
        """Copy the verified version of `source` to `target` (server-side), then remove `source`.

        The copy is conditional on the ETag, so bytes written after verification never get promoted.
        """

        def run() -> None:
            try:
                self._client.copy_object(bucket, target, CopySource(bucket, source, match_etag=etag))
            except S3Error as exc:
                if exc.code in ("PreconditionFailed", "NoSuchKey"):
                    raise ObjectChanged(f"{source} changed while being verified") from None
                raise
            self._client.remove_object(bucket, source)

        await self._run("CopyObject", bucket, target, run)

    async def remove(self, bucket: str, key: str) -> None:
        """Remove an object; removing a missing one is not an error (S3 semantics)."""
        await self._run("DeleteObject", bucket, key, lambda: self._client.remove_object(bucket, key))
