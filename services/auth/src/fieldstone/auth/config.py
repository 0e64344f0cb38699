"""auth settings, read once from AUTH_* environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from fieldstone.service import BaseServiceSettings


class AuthSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", frozen=True, extra="ignore")

    # How long a rotated key keeps working next to its replacement.
    rotation_overlap_seconds: int = 86_400
