"""gateway settings, read once from GATEWAY_* environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from fieldstone.messaging import KafkaSettings


class GatewaySettings(BaseSettings, KafkaSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", frozen=True, extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int
    database_url: str
    auth_grpc_target: str
    files_grpc_target: str
    extraction_grpc_target: str
    webhooks_grpc_target: str
    usage_grpc_target: str
    group_prefix: str = "fieldstone"
    create_database: bool = False
    migrate_on_start: bool = True
    log_level: str = "INFO"
    # Verified keys are cached this long; a revocation event evicts them at once.
    auth_cache_seconds: float = 10.0
    # Requests per minute come from the usage service's plans; this table is the fallback when
    # usage cannot be reached. Requests without a valid key are limited per client address.
    plan_requests_per_minute: dict[str, int] = {"free": 60, "starter": 300, "core": 1200, "pro": 6000}
    anonymous_requests_per_minute: int = 60
    # Largest file in a one-step multipart upload (held in memory while it is forwarded); bigger
    # files use the direct upload to the object store. Also caps every request body.
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1, le=256 * 1024 * 1024)
