"""S3-generic object storage on the `minio` SDK.

The SDK is synchronous, so every call runs in a worker thread to keep the event loop free.
Each call is a CLIENT span named like the AWS SDK's (`S3.GetObject`), child of the caller's span.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from urllib.parse import urlsplit

from minio import Minio
from minio.commonconfig import CopySource
from minio.error import S3Error
from minio.notificationconfig import NotificationConfig, QueueConfig
from opentelemetry import trace
from opentelemetry.trace import SpanKind

T = TypeVar("T")
_tracer = trace.get_tracer(__name__)


class ObjectChanged(Exception):
    """The object was replaced while it was being read or copied; look at it again."""


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    content_type: str | None


class BlobStore:
    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        *,
        secure: bool = False,
        region: str = "us-east-1",
        public_endpoint: str | None = None,
    ) -> None:
        self._client = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region
        )
        # Presigned URLs must name the host the *client* reaches, which can differ from ours.
        public = urlsplit(public_endpoint) if public_endpoint else None
        self._signer = (
            Minio(
                public.netloc,
                access_key=access_key,
                secret_key=secret_key,
                secure=public.scheme == "https",
                region=region,
            )
            if public
            else self._client
        )
        self._endpoint = endpoint

    async def _run(self, operation: str, bucket: str, key: str | None, fn: Callable[[], T]) -> T:
        """Run one blocking SDK call in a worker thread, inside an S3 client span."""
        host, _, port = self._endpoint.rpartition(":")
        attributes: dict[str, str | int] = {
            "rpc.system": "aws-api",
            "rpc.service": "S3",
            "rpc.method": operation,
            "aws.s3.bucket": bucket,
            "server.address": host or self._endpoint,
        }
        if port.isdigit():
            attributes["server.port"] = int(port)
        if key is not None:
            attributes["aws.s3.key"] = key
        with _tracer.start_as_current_span(f"S3.{operation}", kind=SpanKind.CLIENT, attributes=attributes):
            return await asyncio.to_thread(fn)

    async def ensure_bucket(self, bucket: str) -> None:
        def run() -> None:
            if not self._client.bucket_exists(bucket):
                try:
                    self._client.make_bucket(bucket)
                except S3Error as exc:
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise

        await self._run("CreateBucket", bucket, None, run)

    async def notify_on_create(self, bucket: str, queue_arn: str) -> None:
        """Send `s3:ObjectCreated:*` notifications of `bucket` to the queue (Kafka) target."""
        config = NotificationConfig(
            queue_config_list=[
                QueueConfig(["s3:ObjectCreated:*"], config_id="fieldstone-uploads", queue=queue_arn)
            ]
        )
        await self._run(
            "PutBucketNotificationConfiguration",
            bucket,
            None,
            lambda: self._client.set_bucket_notification(bucket, config),
        )

    async def stat(self, bucket: str, key: str) -> ObjectInfo | None:
        def run() -> ObjectInfo | None:
            try:
                st = self._client.stat_object(bucket, key)
            except S3Error as exc:
                if exc.code in ("NoSuchKey", "NoSuchObject", "NoSuchBucket"):
                    return None
                raise
            return ObjectInfo(size=st.size or 0, etag=st.etag or "", content_type=st.content_type)

        return await self._run("HeadObject", bucket, key, run)

    async def read(self, bucket: str, key: str, *, offset: int = 0, length: int = 0) -> bytes:
        return await self._get(bucket, key, offset, length, None)

    async def _get(self, bucket: str, key: str, offset: int, length: int, etag: str | None) -> bytes:
        """GET a range; with `etag`, only while the object is still that version (If-Match)."""

        def run() -> bytes:
            try:
                response = self._client.get_object(
                    bucket,
                    key,
                    offset=offset,
                    length=length,
                    request_headers={"If-Match": etag} if etag else None,
                )
            except S3Error as exc:
                if etag and exc.code in ("PreconditionFailed", "NoSuchKey"):
                    raise ObjectChanged(f"{key} changed while being verified") from None
                raise
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        return await self._run("GetObject", bucket, key, run)

    async def put(
        self, bucket: str, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        import io

        await self._run(
            "PutObject",
            bucket,
            key,
            lambda: self._client.put_object(
                bucket, key, io.BytesIO(data), len(data), content_type=content_type
            ),
        )

    async def upload_url(self, bucket: str, key: str, expires: timedelta, issued_at: datetime) -> str:
        """A presigned PUT for exactly `key`, valid from `issued_at` for `expires` (so a caller can
        store the URL's own expiry)."""
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
        """Read the object only if it is still the version `etag` names (else ObjectChanged)."""
        return await self._get(bucket, key, offset, length, etag)

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
