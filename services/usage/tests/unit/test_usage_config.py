"""UsageSettings: defaults, partial JSON overrides and failing fast on bad plans."""

from __future__ import annotations

import pytest

from fieldstone.common.settings import ConfigError, load_settings
from fieldstone.usage.config import UsageSettings


@pytest.fixture(autouse=True)
def _required_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("USAGE_PLAN_LIMITS", "USAGE_DEFAULT_PLAN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USAGE_DATABASE_URL", "postgresql://localhost/usage")
    monkeypatch.setenv("USAGE_KAFKA_BOOTSTRAP", "localhost:9092")
    monkeypatch.setenv("USAGE_GRPC_PORT", "50055")


def test_defaults() -> None:
    plans = load_settings(UsageSettings).plan_catalog()
    assert plans.default_plan == "free"
    assert [plans.extraction_limit(p) for p in ("free", "starter", "core", "pro")] == [50, 500, 2000, 10000]
    assert [plans.limits_of(p).batch_size for p in ("free", "starter", "core", "pro")] == [10, 50, 200, 1000]


def test_plan_limits_json_overrides_only_what_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USAGE_PLAN_LIMITS", '{"starter": {"extractions_per_period": 800}}')
    monkeypatch.setenv("USAGE_DEFAULT_PLAN", "starter")
    settings = load_settings(UsageSettings)
    assert settings.plan_limits["starter"].extractions_per_period == 800
    assert settings.plan_limits["starter"].max_pages == 100
    assert settings.plan_limits["starter"].batch_size == 50
    assert settings.plan_limits["pro"].extractions_per_period == 10000
    assert settings.plan_catalog().extraction_limit(None) == 800


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("USAGE_PLAN_LIMITS", '{"enterprise": {"extractions_per_period": 1}}', "USAGE_PLAN_LIMITS"),
        ("USAGE_PLAN_LIMITS", '{"free": {"max_pages": -1}}', "USAGE_PLAN_LIMITS"),
        ("USAGE_DEFAULT_PLAN", "gold", "USAGE_DEFAULT_PLAN"),
    ],
)
def test_bad_plan_settings_fail_fast(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, needle: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=needle):
        load_settings(UsageSettings)


def test_missing_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USAGE_GRPC_PORT")
    with pytest.raises(ConfigError, match="USAGE_GRPC_PORT"):
        load_settings(UsageSettings)
