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
    # host:port of the usage service, which defines each plan's file-size and page limits.
    usage_grpc_target: str | None = None
    # Limits used without a usage service, or while it cannot be reached.
    default_max_size_bytes: int = 50 * 1024 * 1024
    default_max_pages: int = 500
    # Largest file sent through the platform itself (UploadFile, the API's multipart upload).
    inline_upload_max_bytes: int = 10 * 1024 * 1024
    download_url_ttl_seconds: int = 300
    # A pending file past its URL's expiry by more than this is rejected as EXPIRED.
    expiry_grace_seconds: int = 60
    # The sweep checks pending files older than `sweep_min_age_seconds` every `sweep_interval_seconds`
    # (a lost notification is found this late at worst; 0 disables the sweep).
    sweep_interval_seconds: float = 30.0
    sweep_min_age_seconds: float = 30.0
