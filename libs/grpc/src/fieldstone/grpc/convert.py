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


def variable_to_dict(v: Any) -> dict[str, Any]:
    """A `fieldstone.extraction.v1.Variable` as the public JSON shape (recursive, sparse)."""
    out: dict[str, Any] = {"key": v.key, "type": v.type, "context": v.context}
    if v.required:
        out["required"] = True
    if v.array_type:
        out["arrayType"] = v.array_type
    if len(v.fields):
        out["fields"] = [variable_to_dict(f) for f in v.fields]
    return out


def page_of(records: list[Any], limit: int, cursor_of: Any = lambda r: r.id) -> tuple[list[Any], str]:
    """Split `limit + 1` fetched records into the page and the next cursor ("" on the last page)."""
    page = records[:limit]
    return page, (cursor_of(page[-1]) if len(records) > limit else "")
