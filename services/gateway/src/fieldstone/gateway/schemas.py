"""Typed request bodies of the public API (msgspec Structs, camelCase on the wire).

Unknown fields are rejected so a typo is a 400, not a silently ignored option.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

NonEmpty = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class CreateFileBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    filename: NonEmpty
    content_type: Annotated[str, msgspec.Meta(min_length=1, max_length=127)]
    size_bytes: Annotated[int, msgspec.Meta(gt=0)]


class VariableBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True, omit_defaults=True):
    key: NonEmpty
    type: str
    context: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    required: bool = False
    fields: list[VariableBody] | None = None
    array_type: str | None = None


class CreateExtractionBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    file_id: str | None = None
    # `documentId` is accepted as another name for fileId (the reference API's name).
    document_id: str | None = None
    template_id: str | None = None
    variables: list[VariableBody] | None = None
    pages: (
        Annotated[str, msgspec.Meta(pattern=r"^\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*$")] | None
    ) = None
    metadata: dict[str, Any] | None = None


class CreateWebhookEndpointBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
    events: list[str] | None = None
    description: Annotated[str, msgspec.Meta(max_length=500)] = ""
