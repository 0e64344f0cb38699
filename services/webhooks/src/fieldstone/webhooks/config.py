"""webhooks settings, read once from WEBHOOKS_* environment variables."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
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
    timeout_seconds: float = Field(default=30.0, gt=0)
    # Comma-separated seconds before attempt 1, 2, ...; the first attempt is immediate.
    retry_schedule: Annotated[tuple[float, ...], NoDecode] = DEFAULT_SCHEDULE
    poll_seconds: float = Field(default=0.5, gt=0)
    # Attempts in flight at once per process.
    concurrency: int = Field(default=50, ge=1)

    _split_lists = field_validator("allowed_cidrs", "retry_schedule", mode="before")(_comma_separated)

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

    @property
    def secret_key_bytes(self) -> bytes:
        return decode_key(self.secret_key.get_secret_value())

    @property
    def lease_seconds(self) -> float:
        """How long a claimed delivery stays invisible: longer than any attempt can take."""
        return self.timeout_seconds + 60.0
