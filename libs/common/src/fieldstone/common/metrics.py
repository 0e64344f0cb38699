"""The one registry of Fieldstone's metric names (Prometheus text on each service's /metrics).

Names follow the OpenTelemetry semantic conventions where one exists (`http.server.request.duration`
is exported as `http_server_request_duration_seconds`, as the OpenTelemetry Prometheus exporter
would name it); the others are `fieldstone_*`. docs/observability.md is the catalogue with
example alerts. Every process imports this module, so every metric is declared here once;
service-specific metrics carry labels and so show no sample until their service records one.
"""

from __future__ import annotations

import threading
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

# Seconds: from a fast gRPC call to a long extraction job.
_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

# -- HTTP (gateway) ---------------------------------------------------------------------------------
HTTP_SERVER_DURATION: Final = Histogram(
    "http_server_request_duration",
    "Duration of HTTP server requests (OTel http.server.request.duration).",
    ["http_request_method", "http_route", "http_response_status_code"],
    unit="seconds",
    buckets=_LATENCY,
)

# -- gRPC (every gRPC service, libs/grpc) -----------------------------------------------------------
RPC_SERVER_DURATION: Final = Histogram(
    "rpc_server_call_duration",
    "Duration of gRPC server calls (OTel rpc.server.call.duration).",
    ["rpc_system", "rpc_service", "rpc_method", "rpc_grpc_status_code"],
    unit="seconds",
    buckets=_LATENCY,
)

# -- Kafka consumers (libs/messaging EventConsumer) ------------------------------------------------
MESSAGING_PROCESS_DURATION: Final = Histogram(
    "messaging_process_duration",
    "Duration of one handler run of a consumed message (OTel messaging.process.duration); "
    "error_type is empty on success.",
    ["messaging_system", "messaging_destination_name", "messaging_consumer_group_name", "error_type"],
    unit="seconds",
    buckets=_LATENCY,
)
MESSAGING_CONSUMED: Final = Counter(
    "messaging_client_consumed_messages",
    "Messages handled successfully and committed (OTel messaging.client.consumed.messages).",
    ["messaging_system", "messaging_destination_name", "messaging_consumer_group_name"],
)
CONSUMER_LAG: Final = Gauge(
    "fieldstone_consumer_lag",
    "Records not yet processed by a consumer group: partition high watermark minus its position.",
    ["messaging_consumer_group_name", "messaging_destination_name", "messaging_destination_partition_id"],
    unit="messages",
)

# -- Outbox relay (libs/messaging OutboxRelay; one per service database) ---------------------------
MESSAGING_SENT: Final = Counter(
    "messaging_client_sent_messages",
    "Events the outbox relay published to Kafka (OTel messaging.client.sent.messages), by CloudEvent type.",
    ["messaging_system", "messaging_destination_name", "cloudevents_event_type"],
)
OUTBOX_BACKLOG: Final = Gauge(
    "fieldstone_outbox_backlog",
    "Outbox rows not yet published to Kafka.",
    unit="events",
)
OUTBOX_OLDEST_AGE: Final = Gauge(
    "fieldstone_outbox_oldest_age",
    "Age of the oldest unpublished outbox row (0 when the outbox is empty).",
    unit="seconds",
)
OUTBOX_PUBLISH_DELAY: Final = Histogram(
    "fieldstone_outbox_publish_delay",
    "Time from an event's commit to the outbox until Kafka acknowledged it.",
    ["messaging_destination_name"],
    unit="seconds",
    buckets=_LATENCY,
)

# -- Extraction (recorded by services/extraction and libs/extract; see docs/observability.md) -------
# Jobs by final status (completed, failed, canceled): increment once per job when its outcome commits.
EXTRACTION_JOBS: Final = Counter(
    "fieldstone_extraction_jobs",
    "Extraction jobs finished, by status.",
    ["status"],
)
# Wall time of one job (read + engine + commit), observed with the same status label.
EXTRACTION_JOB_DURATION: Final = Histogram(
    "fieldstone_extraction_job_duration",
    "Duration of one extraction job, by final status.",
    ["status"],
    unit="seconds",
    buckets=_LATENCY,
)
# Pages the engine processed, by how they were read (text layer or ocr); pages per second is
# rate(fieldstone_extraction_pages_total[5m]).
EXTRACTION_PAGES: Final = Counter(
    "fieldstone_extraction_pages",
    "Document pages processed by the extraction engine, by reading method (text, ocr).",
    ["method"],
)
OCR_PAGE_DURATION: Final = Histogram(
    "fieldstone_ocr_page_duration",
    "OCR time of one page.",
    ["engine"],
    unit="seconds",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0),
)

# -- Webhooks (services/webhooks) -------------------------------------------------------------------
WEBHOOK_DELIVERIES: Final = Counter(
    "fieldstone_webhook_deliveries",
    "Webhook attempts by what they left the event as: delivered, retrying (another attempt is "
    "scheduled) or failed (no attempt left, or the endpoint is gone).",
    ["outcome"],
)
WEBHOOK_ATTEMPT_DURATION: Final = Histogram(
    "fieldstone_webhook_attempt_duration",
    "Duration of one webhook HTTP attempt, by result (succeeded, failed).",
    ["result"],
    unit="seconds",
    buckets=_LATENCY,
)
WEBHOOK_BACKLOG: Final = Gauge(
    "fieldstone_webhook_backlog",
    "Webhook events waiting for an attempt: due now, scheduled later, or in flight.",
    ["state"],
    unit="events",
)
WEBHOOK_OLDEST_DUE_AGE: Final = Gauge(
    "fieldstone_webhook_oldest_due_age",
    "How long the most overdue pending webhook event has been due (0 when none is).",
    ["state"],
    unit="seconds",
)
WEBHOOK_ENDPOINTS_DISABLED: Final = Gauge(
    "fieldstone_webhook_endpoints_disabled",
    "Webhook endpoints currently disabled, by reason (manual, gone, failing).",
    ["reason"],
)

# -- Usage (services/usage) -------------------------------------------------------------------------
QUOTA_REJECTIONS: Final = Counter(
    "fieldstone_quota_rejections",
    "Extraction reservations refused because the workspace's plan quota is used up.",
    ["plan"],
)


def exposition() -> tuple[bytes, str]:
    """The current values in the Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


_served: dict[tuple[str, int], object] = {}
_lock = threading.Lock()


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Serve /metrics on `host:port` from a daemon thread (the gRPC services have no HTTP server)."""
    with _lock:
        if (host, port) in _served:
            return
        _served[(host, port)] = start_http_server(port, addr=host)
