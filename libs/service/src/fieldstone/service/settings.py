"""Settings every service has; each service's config.py extends them with an env prefix."""

from __future__ import annotations

from pydantic import Field

from fieldstone.common.settings import ServiceSettings
from fieldstone.messaging import KafkaSettings


class BaseServiceSettings(ServiceSettings, KafkaSettings):
    database_url: str = Field(description="postgresql:// URL of the service's own database")
    grpc_port: int = Field(description="port of the gRPC server")
    grpc_host: str = "127.0.0.1"
    # Consumer groups are named "<group_prefix>.<service>.<purpose>" so two stacks can share a broker.
    group_prefix: str = "fieldstone"
    create_database: bool = False
    # Off when a separate migrations job (Helm pre-install/pre-upgrade hook) owns the schema.
    migrate_on_start: bool = True
    # Prometheus text on http://<metrics_host>:<metrics_port>/metrics; 0 = not served.
    metrics_port: int = Field(default=0, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
