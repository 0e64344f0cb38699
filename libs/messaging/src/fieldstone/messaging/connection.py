"""How the services reach Kafka: bootstrap servers, TLS and SASL, in one place.

Every producer, consumer and admin client of a service is built from one `KafkaConnection`, read
from the service's settings (`<PREFIX>_KAFKA_*`), so a managed broker that wants TLS and a
password (SASL PLAIN or SCRAM) needs configuration only.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any, Literal

from aiokafka.helpers import create_ssl_context
from pydantic import BaseModel, Field, SecretStr, ValidationInfo, field_validator

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


@dataclass(frozen=True)
class KafkaConnection:
    bootstrap: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    sasl_username: str = ""
    sasl_password: str = field(default="", repr=False)
    ssl_cafile: str = ""  # PEM bundle; empty: the system's trust store
    topic_replicas: int = 1  # replication factor of the topics a service creates when missing

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaProducer, AIOKafkaConsumer and AIOKafkaAdminClient."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol in ("SSL", "SASL_SSL"):
            options["ssl_context"] = self._ssl_context()
        if self.security_protocol.startswith("SASL_"):
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password
        return options

    def _ssl_context(self) -> ssl.SSLContext:
        context: ssl.SSLContext = create_ssl_context(cafile=self.ssl_cafile or None)
        return context


def as_connection(kafka: str | KafkaConnection) -> KafkaConnection:
    """Tests and tools pass a bootstrap string; services pass their configured connection."""
    return kafka if isinstance(kafka, KafkaConnection) else KafkaConnection(kafka)


class KafkaSettings(BaseModel):
    """The `<PREFIX>_KAFKA_*` settings every service with Kafka clients has (mixed into its settings)."""

    kafka_bootstrap: str
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    kafka_sasl_username: str = ""
    # Validated even when unset, so a SASL protocol without credentials fails naming this variable.
    kafka_sasl_password: SecretStr = Field(default=SecretStr(""), validate_default=True)
    kafka_ssl_cafile: str = ""
    kafka_topic_replicas: int = Field(default=1, ge=1)

    @field_validator("kafka_sasl_password")
    @classmethod
    def _sasl_needs_credentials(cls, password: SecretStr, info: ValidationInfo) -> SecretStr:
        protocol = str(info.data.get("kafka_security_protocol", "PLAINTEXT"))
        if protocol.startswith("SASL_") and not (
            info.data.get("kafka_sasl_username") and password.get_secret_value()
        ):
            raise ValueError(f"a username and a password are required with the {protocol} security protocol")
        return password

    def kafka(self) -> KafkaConnection:
        return KafkaConnection(
            bootstrap=self.kafka_bootstrap,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            sasl_username=self.kafka_sasl_username,
            sasl_password=self.kafka_sasl_password.get_secret_value(),
            ssl_cafile=self.kafka_ssl_cafile,
            topic_replicas=self.kafka_topic_replicas,
        )
