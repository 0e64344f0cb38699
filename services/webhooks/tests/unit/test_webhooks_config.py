import base64
from ipaddress import ip_network

import pytest

from fieldstone.common.settings import ConfigError, load_settings
from fieldstone.webhooks.config import WebhooksSettings

KEY = base64.b64encode(b"k" * 32).decode()


@pytest.fixture(autouse=True)
def _base_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOKS_DATABASE_URL", "postgresql://localhost/webhooks")
    monkeypatch.setenv("WEBHOOKS_KAFKA_BOOTSTRAP", "localhost:9092")
    monkeypatch.setenv("WEBHOOKS_GRPC_PORT", "50055")


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOKS_SECRET_KEY", KEY)
    settings = load_settings(WebhooksSettings)
    assert settings.secret_key_bytes == b"k" * 32
    assert settings.allow_insecure_http is False
    assert settings.allowed_cidrs == ()
    assert settings.timeout_seconds == 30
    assert settings.retry_schedule == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert settings.poll_seconds == 0.5
    assert settings.lease == 60.0  # the timeout plus 30 s
    assert settings.rotation_overlap_seconds == 86_400
    assert settings.disable_after_failing_seconds == 5 * 86_400
    assert (settings.concurrency, settings.endpoint_concurrency) == (100, 20)
    assert KEY not in repr(settings)


def test_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOKS_SECRET_KEY", KEY)
    monkeypatch.setenv("WEBHOOKS_ALLOWED_CIDRS", "127.0.0.0/8, ::1/128")
    monkeypatch.setenv("WEBHOOKS_ALLOWED_HOSTS", "receiver.internal, erp.corp")
    monkeypatch.setenv("WEBHOOKS_RETRY_SCHEDULE", "0,0.2")
    settings = load_settings(WebhooksSettings)
    assert settings.allowed_cidrs == (ip_network("127.0.0.0/8"), ip_network("::1/128"))
    assert settings.allowed_hosts == ("receiver.internal", "erp.corp")
    assert settings.retry_schedule == (0, 0.2)


def test_missing_key_is_named() -> None:
    with pytest.raises(ConfigError, match="WEBHOOKS_SECRET_KEY"):
        load_settings(WebhooksSettings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEBHOOKS_SECRET_KEY", base64.b64encode(b"short").decode()),
        ("WEBHOOKS_ALLOWED_CIDRS", "localhost"),
        ("WEBHOOKS_RETRY_SCHEDULE", "5,10"),
        ("WEBHOOKS_LEASE_SECONDS", "30"),  # not longer than the 30 s timeout
    ],
)
def test_bad_values_are_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv("WEBHOOKS_SECRET_KEY", KEY)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings(WebhooksSettings)
