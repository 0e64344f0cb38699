"""extraction settings, read once from EXTRACTION_* environment variables."""

from __future__ import annotations

from pydantic import Field
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
    # Pages read at most per document; a workspace plan's lower max_pages wins.
    max_pages: int = Field(default=500, ge=1)
    # A job whose engine or worker died this many times fails with EXTRACTION_CRASHED.
    max_attempts: int = Field(default=3, ge=1)
    # Engine time limit per job (keep it under the Kafka max poll interval, 300 s).
    job_timeout_seconds: float = Field(default=240.0, gt=0)
    # Jobs one process runs at once: one Kafka consumer and one engine process per slot.
    worker_concurrency: int = Field(default=2, ge=1, le=64)
    # The jobs topic is grown to at least this many partitions at start (processes x slots
    # beyond it sit idle).
    job_partitions: int = Field(default=24, ge=1, le=1000)
    # A running job's lease; renewed every third of it. A dead worker's job is taken over
    # once its lease ran out.
    lease_seconds: float = Field(default=10.0, ge=1)
    # Address-space limit of each engine process in MiB (0: none).
    engine_memory_mb: int = Field(default=2048, ge=0)
    # Tries to read a document from storage before the job fails with STORAGE_UNAVAILABLE.
    storage_read_attempts: int = Field(default=5, ge=1)
    # TEST ONLY, never in production: honour metadata.testOnlyDelaySeconds (a pause before
    # the engine) so end-to-end tests can cancel or kill a job while it runs.
    test_only_delays: bool = False
