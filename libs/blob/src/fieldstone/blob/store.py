"""S3-generic object storage on the `minio` SDK.

The SDK is synchronous, so every call runs in a worker thread to keep the event loop free.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from minio import Minio
from minio.error import S3Error
from minio.notificationconfig import NotificationConfig, QueueConfig


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

    async def ensure_bucket(self, bucket: str) -> None:
        def run() -> None:
            if not self._client.bucket_exists(bucket):
                try:
                    self._client.make_bucket(bucket)
                except S3Error as exc:
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise

        await asyncio.to_thread(run)

    async def notify_on_create(self, bucket: str, queue_arn: str) -> None:
        """Send `s3:ObjectCreated:*` notifications of `bucket` to the queue (Kafka) target."""
        config = NotificationConfig(
            queue_config_list=[
                QueueConfig(["s3:ObjectCreated:*"], config_id="fieldstone-uploads", queue=queue_arn)
            ]
        )
        await asyncio.to_thread(self._client.set_bucket_notification, bucket, config)

    async def presigned_put(self, bucket: str, key: str, expires: timedelta) -> str:
        url: str = await asyncio.to_thread(self._signer.presigned_put_object, bucket, key, expires)
        return url

    async def stat(self, bucket: str, key: str) -> ObjectInfo | None:
        def run() -> ObjectInfo | None:
            try:
                st = self._client.stat_object(bucket, key)
            except S3Error as exc:
                if exc.code in ("NoSuchKey", "NoSuchObject", "NoSuchBucket"):
                    return None
                raise
            return ObjectInfo(size=st.size or 0, etag=st.etag or "", content_type=st.content_type)

        return await asyncio.to_thread(run)

    async def read(self, bucket: str, key: str, *, offset: int = 0, length: int = 0) -> bytes:
        def run() -> bytes:
            response = self._client.get_object(bucket, key, offset=offset, length=length)
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        return await asyncio.to_thread(run)

    async def put(
        self, bucket: str, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        import io

        await asyncio.to_thread(
            self._client.put_object, bucket, key, io.BytesIO(data), len(data), content_type=content_type
        )
