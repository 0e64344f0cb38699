"""CloudEvents 1.0 in Kafka binary mode: attributes in `ce_*` headers, payload as the value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

PROTOBUF = "application/protobuf"


@dataclass(frozen=True)
class CloudEvent:
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    data: bytes
    content_type: str = PROTOBUF
    traceparent: str | None = None

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", self.time.isoformat().replace("+00:00", "Z").encode()),
            ("ce_subject", self.subject.encode()),
            ("content-type", self.content_type.encode()),
        ]
        if self.traceparent:
            headers.append(("traceparent", self.traceparent.encode()))
        return headers

    @classmethod
    def from_kafka(cls, headers: Sequence[tuple[str, bytes]], value: bytes | None) -> CloudEvent | None:
        """The event in a record, or None when the record is not a binary-mode CloudEvent."""
        h = {k: v.decode("utf-8", "replace") for k, v in headers}
        if h.get("ce_specversion") != "1.0" or "ce_id" not in h or "ce_type" not in h:
            return None
        return cls(
            id=h["ce_id"],
            source=h.get("ce_source", ""),
            type=h["ce_type"],
            subject=h.get("ce_subject", ""),
            time=datetime.fromisoformat(h.get("ce_time", "1970-01-01T00:00:00Z").replace("Z", "+00:00")),
            data=value or b"",
            content_type=h.get("content-type", PROTOBUF),
            traceparent=h.get("traceparent"),
        )
