"""webhooks settings, read once from WEBHOOKS_* environment variables."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from fieldstone.service import BaseServiceSettings
from fieldstone.webhooks.adapters.secret_box import decode_key
from fieldstone.webhooks.domain.retries import DEFAULT_SCHEDULE


def _comma_separated(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class WebhooksSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WEBHOOKS_", frozen=True, extra="ignore")

    secret_key: SecretStr = Field(description="base64 of 32 bytes: the AES-256-GCM key of endpoint secrets")
    # Base of the links in webhook bodies (the gateway's public address).
    public_api_url: str = "http://127.0.0.1:8000"
    # Endpoints must be https unless this is set (local stack and tests only).
    allow_insecure_http: bool = False
    # Comma-separated CIDRs the SSRF guard lets through although they are not public, e.g. "127.0.0.0/8".
    allowed_cidrs: Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode] = ()
    # Comma-separated host names the SSRF guard lets through whatever they resolve to.
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    timeout_seconds: float = Field(default=30.0, gt=0)
    # Comma-separated seconds before attempt 1, 2, ...; the first attempt is immediate.
    retry_schedule: Annotated[tuple[float, ...], NoDecode] = DEFAULT_SCHEDULE
    # The dispatcher is woken by Postgres NOTIFY when work arrives; this is the fallback poll.
    poll_seconds: float = Field(default=0.5, gt=0)
    # How often the backlog and disabled-endpoint gauges of /metrics are refreshed.
    stats_seconds: float = Field(default=15.0, gt=0)
    # Attempts in flight at once per process, and per endpoint across all processes.
    concurrency: int = Field(default=100, ge=1)
    endpoint_concurrency: int = Field(default=20, ge=1)
    # How long a claimed event stays invisible to other dispatchers; must outlast an attempt.
    # Default: timeout + 30 s. A dispatcher that dies mid-attempt delays that event by this much.
    lease_seconds: float | None = Field(default=None, gt=0)
    # After a rotation the previous secret also signs for this long.
    rotation_overlap_seconds: float = Field(default=86_400.0, ge=0)
    # An endpoint whose attempts have all failed for this long is disabled (5 days).
    disable_after_failing_seconds: float = Field(default=432_000.0, ge=0)

    _split_lists = field_validator("allowed_cidrs", "allowed_hosts", "retry_schedule", mode="before")(
        _comma_separated
    )

    @field_validator("secret_key")
    @classmethod
    def _valid_key(cls, value: SecretStr) -> SecretStr:
        decode_key(value.get_secret_value())
        return value

    @field_validator("retry_schedule")
    @classmethod
    def _valid_schedule(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or value[0] != 0 or any(v < 0 for v in value):
            raise ValueError("must start with 0 and contain no negative delays")
        return value

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> WebhooksSettings:
        if self.lease_seconds is not None and self.lease_seconds <= self.timeout_seconds:
            raise ValueError("WEBHOOKS_LEASE_SECONDS must be longer than WEBHOOKS_TIMEOUT_SECONDS")
        return self

    @property
    def secret_key_bytes(self) -> bytes:
        return decode_key(self.secret_key.get_secret_value())

    @property
    def lease(self) -> float:
        """How long a claimed event stays invisible: longer than any attempt can take."""
        return self.lease_seconds if self.lease_seconds is not None else self.timeout_seconds + 30.0
