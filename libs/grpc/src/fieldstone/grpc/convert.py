"""Conversions between Python values and protobuf well-known types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format, struct_pb2
from google.protobuf.timestamp_pb2 import Timestamp


def to_timestamp(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(moment.astimezone(UTC))
    return ts


def from_timestamp(message: Any, field: str) -> datetime | None:
    """The datetime in `message.field`, or None when the field is unset."""
    if not message.HasField(field):
        return None
    ts: Timestamp = getattr(message, field)
    return ts.ToDatetime(tzinfo=UTC)


def to_struct(data: dict[str, Any] | None) -> struct_pb2.Struct | None:
    if data is None:
        return None
    struct = struct_pb2.Struct()
    struct.update(data)
    return struct


def from_struct(message: Any, field: str) -> dict[str, Any] | None:
    if not message.HasField(field):
        return None
    value: dict[str, Any] = json_format.MessageToDict(getattr(message, field))
    return value


def to_value(value: Any) -> struct_pb2.Value:
    out = struct_pb2.Value()
    json_format.ParseDict(value, out)
    return out
