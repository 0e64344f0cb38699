from __future__ import annotations

from datetime import UTC, datetime

from fieldstone.messaging import CloudEvent


def test_binary_mode_headers_round_trip() -> None:
    event = CloudEvent(
        id="msg_1",
        source="/fieldstone/files",
        type="fieldstone.file.uploaded.v1",
        subject="file_1",
        time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        data=b"\x01\x02",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    headers = event.kafka_headers()
    names = [h for h, _ in headers]
    assert names[:7] == [
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_time",
        "ce_subject",
        "content-type",
    ]
    assert dict(headers)["content-type"] == b"application/protobuf"
    assert dict(headers)["ce_time"] == b"2026-01-02T03:04:05Z"
    assert CloudEvent.from_kafka(headers, b"\x01\x02") == event


def test_records_that_are_not_cloudevents_are_recognised() -> None:
    assert CloudEvent.from_kafka([("x", b"y")], b"{}") is None
