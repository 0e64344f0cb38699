"""Typed request bodies of the public API (msgspec Structs, camelCase on the wire).

Unknown fields are rejected so a typo is a 400, not a silently ignored option.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

NonEmpty = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class CreateFileBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    filename: NonEmpty
    content_type: Annotated[str, msgspec.Meta(min_length=1, max_length=127)]
    size_bytes: Annotated[int, msgspec.Meta(gt=0, le=2**53)]


# `GET /v1/files?status=...`: deleted files are never listed.
FileStatusFilter = Literal["pending_upload", "uploaded", "rejected"]


class VariableBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True, omit_defaults=True):
    key: NonEmpty
    type: str
    context: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    required: bool = False
    fields: list[VariableBody] | None = None
    array_type: str | None = None


# Pages to read, 1-based: "1-3,7".
Pages = Annotated[str, msgspec.Meta(pattern=r"^\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*$")]


class CreateExtractionBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    file_id: str | None = None
    # `documentId` is accepted as another name for fileId (the reference API's name).
    document_id: str | None = None
    template_id: str | None = None
    variables: list[VariableBody] | None = None
    pages: Pages | None = None
    metadata: dict[str, Any] | None = None


# `GET /v1/extractions?status=...`
ExtractionStatusFilter = Literal["queued", "processing", "completed", "failed", "canceled"]

TemplateName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
TemplateDescription = Annotated[str, msgspec.Meta(max_length=2000)]


class CreateTemplateBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    name: TemplateName
    variables: list[VariableBody]
    description: TemplateDescription = ""


class UpdateTemplateBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """Only the fields sent change; any change makes a new version."""

    name: TemplateName | None = None
    description: TemplateDescription | None = None
    variables: list[VariableBody] | None = None


class CreateRunBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    file_ids: Annotated[list[str], msgspec.Meta(min_length=1, max_length=1000)]
    template_id: str | None = None
    variables: list[VariableBody] | None = None
    pages: Pages | None = None
    metadata: dict[str, Any] | None = None


class CreateWebhookEndpointBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
    events: list[str] | None = None
    description: Annotated[str, msgspec.Meta(max_length=500)] = ""


class UpdateWebhookEndpointBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """Only the fields sent change. `status` and `active` are two spellings of one switch."""

    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)] | None = None
    status: Literal["enabled", "disabled"] | None = None
    active: bool | None = None
    events: list[str] | None = None
    description: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class CreateServiceAccountBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    description: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class UpdateServiceAccountBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class CreateApiKeyBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    scopes: Annotated[list[str], msgspec.Meta(min_length=1, max_length=12)]
    name: Annotated[str, msgspec.Meta(max_length=200)] = "default"
    expires_at: datetime | None = None


class RotateApiKeyBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    # Seconds the old key keeps working (0 = stop at once); default from configuration.
    overlap_seconds: Annotated[int, msgspec.Meta(ge=0, le=30 * 86400)] | None = None
