"""files settings, read once from FILES_* environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from fieldstone.service import BaseServiceSettings


class FilesSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FILES_", frozen=True, extra="ignore")

    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_secure: bool = False
    # The base URL API clients use to reach the object store (presigned URLs name it).
    s3_public_url: str | None = None
    bucket: str = "fieldstone-uploads"
    # Target of the bucket's ObjectCreated notifications (a Kafka queue of the object store).
    notify_queue_arn: str = "arn:minio:sqs::FIELDSTONE:kafka"
    upload_url_ttl_seconds: int = 900
    default_max_size_bytes: int = 50 * 1024 * 1024
