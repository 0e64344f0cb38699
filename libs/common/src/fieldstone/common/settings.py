"""Settings read once from the environment, failing fast with the missing variable's name."""

from __future__ import annotations

from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(RuntimeError):
    """Raised at start-up when the environment does not describe a valid configuration."""


class ServiceSettings(BaseSettings):
    """Base of every service's `config.py`; fields map to upper-case environment variables."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    log_level: str = "INFO"


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S]) -> S:
    """Read `cls` from the environment or raise ConfigError naming every bad variable."""
    try:
        return cls()
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        problems = []
        for err in exc.errors():
            name = (prefix + "_".join(str(p) for p in err["loc"])).upper()
            if err["type"] == "missing":
                problems.append(f"missing environment variable {name}")
            else:
                problems.append(f"invalid environment variable {name}: {err['msg']}")
        raise ConfigError("; ".join(problems)) from None
