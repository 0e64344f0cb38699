"""`<PREFIX>_KAFKA_*` settings become the options of every Kafka client of a service."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme
from pydantic_settings import SettingsConfigDict

from fieldstone.common.settings import ConfigError, ServiceSettings, load_settings
from fieldstone.messaging import KafkaConnection, KafkaSettings


class DemoSettings(ServiceSettings, KafkaSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", frozen=True, extra="ignore")


def test_plaintext_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_KAFKA_BOOTSTRAP", "kafka:9092")
    kafka = load_settings(DemoSettings).kafka()
    assert kafka.client_options() == {"bootstrap_servers": "kafka:9092", "security_protocol": "PLAINTEXT"}
    assert kafka.topic_replicas == 1


def test_sasl_over_tls_with_a_private_ca(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("DEMO_KAFKA_BOOTSTRAP", "b-1.kafka:9096,b-2.kafka:9096")
    monkeypatch.setenv("DEMO_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("DEMO_KAFKA_SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("DEMO_KAFKA_SASL_USERNAME", "fieldstone")
    monkeypatch.setenv("DEMO_KAFKA_SASL_PASSWORD", "s3cret-pass")
    monkeypatch.setenv("DEMO_KAFKA_SSL_CAFILE", str(tmp_path / "ca.pem"))
    monkeypatch.setenv("DEMO_KAFKA_TOPIC_REPLICAS", "3")
    settings = load_settings(DemoSettings)
    kafka = settings.kafka()
    options = kafka.client_options()
    context = options.pop("ssl_context")
    assert options == {
        "bootstrap_servers": "b-1.kafka:9096,b-2.kafka:9096",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "fieldstone",
        "sasl_plain_password": "s3cret-pass",
    }
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    issuers = [dict(item[0] for item in cert["subject"]) for cert in context.get_ca_certs()]
    assert any(str(i.get("organizationName", "")).startswith("trustme") for i in issuers)  # the private CA
    assert kafka.topic_replicas == 3
    # The password never shows in a repr (logs, errors).
    assert "s3cret-pass" not in repr(kafka) and "s3cret-pass" not in repr(settings)


def test_sasl_without_credentials_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("DEMO_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("DEMO_KAFKA_SASL_USERNAME", "fieldstone")
    with pytest.raises(ConfigError, match=r"DEMO_KAFKA_SASL_PASSWORD.*SASL_PLAINTEXT"):
        load_settings(DemoSettings)
    monkeypatch.setenv("DEMO_KAFKA_SECURITY_PROTOCOL", "SASL_SCRAM")
    with pytest.raises(ConfigError, match="DEMO_KAFKA_SECURITY_PROTOCOL"):
        load_settings(DemoSettings)


def test_a_plain_string_is_a_plaintext_connection() -> None:
    assert KafkaConnection("k:1").client_options() == {
        "bootstrap_servers": "k:1",
        "security_protocol": "PLAINTEXT",
    }
