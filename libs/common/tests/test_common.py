from __future__ import annotations

import json

import grpc
import pytest
import structlog
from pydantic_settings import SettingsConfigDict

from fieldstone.common import apikeys
from fieldstone.common.errors import FieldstoneError, NotFound, QuotaExceeded
from fieldstone.common.ids import is_valid_id, new_id
from fieldstone.common.logging import configure_logging, redact_secrets
from fieldstone.common.settings import ConfigError, ServiceSettings, load_settings


def test_ids_are_prefixed_and_sort_by_time() -> None:
    earlier = new_id("ext", now_ms=1_700_000_000_000)
    later = new_id("ext", now_ms=1_700_000_000_001)
    assert earlier.startswith("ext_") and len(earlier) == 30
    assert earlier < later
    assert is_valid_id(earlier, "ext") and not is_valid_id(earlier, "tpl")
    with pytest.raises(ValueError):
        new_id("nope")


def test_api_keys_carry_a_checksum() -> None:
    key = apikeys.generate_key()
    assert key.startswith("fsk_live_") and len(key) == apikeys.KEY_LENGTH
    assert apikeys.is_well_formed(key)
    flipped = key[:-7] + ("a" if key[-7] != "a" else "b") + key[-6:]
    assert not apikeys.is_well_formed(flipped)
    assert not apikeys.is_well_formed("fsk_live_short")
    assert apikeys.key_prefix(key) == key[:16]
    assert len(apikeys.hash_key(key)) == 64


def test_errors_map_to_http_and_grpc() -> None:
    err = QuotaExceeded("over the limit")
    assert err.code == "QUOTA_EXCEEDED" and err.kind.http_status == 429
    back = FieldstoneError.from_grpc(grpc.StatusCode.NOT_FOUND, "gone", None)
    assert back.code == "NOT_FOUND"
    assert (
        FieldstoneError.from_grpc(grpc.StatusCode.RESOURCE_EXHAUSTED, "x", "QUOTA_EXCEEDED").code
        == "QUOTA_EXCEEDED"
    )
    assert NotFound("x").kind.grpc_status == grpc.StatusCode.NOT_FOUND


class _Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_")
    database_url: str
    port: int


def test_settings_fail_fast_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEMO_DATABASE_URL", raising=False)
    monkeypatch.setenv("DEMO_PORT", "not-a-number")
    with pytest.raises(ConfigError) as info:
        load_settings(_Settings)
    assert "missing environment variable DEMO_DATABASE_URL" in str(info.value)
    assert "DEMO_PORT" in str(info.value)


def test_secrets_are_redacted() -> None:
    key = apikeys.generate_key()
    event = redact_secrets(
        None, "info", {"authorization": "Bearer x", "note": f"used {key}", "secret": "whsec_abc"}
    )
    assert event["authorization"] == "[redacted]" and event["secret"] == "[redacted]"
    assert key not in event["note"] and key[:17] in event["note"]


def test_logs_are_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("demo", "INFO")
    try:
        structlog.get_logger().info("hello", api_key="fsk_live_x")
    finally:
        structlog.reset_defaults()  # the captured stream closes after this test
        structlog.contextvars.clear_contextvars()
    line = capsys.readouterr().out.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "hello" and record["service"] == "demo" and record["api_key"] == "[redacted]"
