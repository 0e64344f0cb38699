"""extraction settings, read once from EXTRACTION_* environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from fieldstone.service import BaseServiceSettings


class ExtractionSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EXTRACTION_", frozen=True, extra="ignore")

    files_grpc_target: str
    usage_grpc_target: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_secure: bool = False
    max_pages: int = 500
    # A job whose worker died this many times (e.g. killed by a hostile document) fails.
    max_attempts: int = 3
    job_timeout_seconds: float = 300.0
