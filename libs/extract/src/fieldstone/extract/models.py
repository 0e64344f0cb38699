"""Public data models: the template ``Variable`` and the extraction output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

VariableType = Literal["string", "number", "date", "boolean", "object", "array"]
ArrayItemType = Literal["string", "number", "object"]


class Variable(BaseModel):
    """One field of an extraction template (recursive through ``fields``)."""

    # Templates come from JSON written by users and other services: accept camelCase ``arrayType``
    # and the Python name alike, and ignore unknown keys instead of rejecting whole templates.
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    key: str = Field(min_length=1, max_length=200)
    type: VariableType
    context: str = ""
    required: bool = False
    fields: list[Variable] | None = None
    array_type: ArrayItemType | None = Field(default=None, alias="arrayType")

    @field_validator("key")
    @classmethod
    def _key_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("key must not be blank")
        return value

    @field_validator("context", mode="before")
    @classmethod
    def _context_none_is_empty(cls, value: object) -> object:
        return "" if value is None else value

    @model_validator(mode="after")
    def _check_shape(self) -> Variable:
        if self.array_type is not None and self.type != "array":
            raise ValueError("arrayType is only allowed on variables of type 'array'")
        needs_fields = self.type == "object" or (self.type == "array" and self.array_type == "object")
        if needs_fields and not self.fields:
            raise ValueError(f"variable {self.key!r} needs 'fields' (object or array of objects)")
        if self.fields and not needs_fields:
            raise ValueError("'fields' is only allowed for objects and arrays of objects")
        if self.fields:
            keys = [f.key for f in self.fields]
            if len(keys) != len(set(keys)):
                raise ValueError(f"duplicate keys in the fields of {self.key!r}")
        return self

    @property
    def item_type(self) -> ArrayItemType:
        """Element type of an array (``string`` when unspecified)."""
        return self.array_type or "string"


@dataclass(slots=True)
class FieldResult:
    """Where one leaf value came from and how sure the engine is about it."""

    path: str
    value: Any
    confidence: float
    page: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    source_text: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "value": self.value,
            "confidence": round(self.confidence, 3),
            "page": self.page,
            "bbox": [round(c, 2) for c in self.bbox] if self.bbox is not None else None,
            "sourceText": self.source_text,
            "reason": self.reason,
        }


@dataclass(slots=True)
class PageInfo:
    """How one selected page was read: ``source`` is pdf (text layer), ocr, text or none."""

    number: int
    source: str
    ocr: bool = False  # OCR ran on the page (a scan, an image, or large images on a text page)
    ms: float = 0.0  # time spent reading the page, OCR included
    note: str | None = None
    ocr_ms: float = 0.0  # the part of ``ms`` spent in OCR
    offset_ms: float = 0.0  # when reading the page began, from the start of the extraction

    def to_dict(self) -> dict[str, Any]:
        return {
            "page": self.number,
            "source": self.source,
            "ocr": self.ocr,
            "ms": round(self.ms, 2),
            "ocrMs": round(self.ocr_ms, 2),
            "offsetMs": round(self.offset_ms, 3),
            "note": self.note,
        }


@dataclass(slots=True)
class Phase:
    """One step of an extraction in time: ``read`` (text layer and OCR) or ``resolve`` (fields).

    With ``ExtractionOutput.started_unix_ns`` these let a caller in another process draw the
    engine's trace spans after the fact (the engine itself stays free of any tracing library).
    """

    name: str
    offset_ms: float
    ms: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "offsetMs": round(self.offset_ms, 3), "ms": round(self.ms, 3)}


@dataclass(slots=True)
class ExtractionOutput:
    """Result of :func:`fieldstone.extract.extract`."""

    extracted_data: dict[str, Any]
    fields: list[FieldResult]
    page_count: int
    timings_ms: dict[str, float] = field(default_factory=dict)
    missing_required: list[str] = field(default_factory=list)
    pages: list[PageInfo] = field(default_factory=list)
    backend: str = "builtin"
    started_unix_ns: int = 0  # wall clock when the extraction began
    phases: list[Phase] = field(default_factory=list)
    ocr_engine: str | None = None  # the OCR engine's family (tesseract, rapidocr) when a page was OCR'd

    def to_dict(self) -> dict[str, Any]:
        return {
            "extractedData": self.extracted_data,
            "fields": [f.to_dict() for f in self.fields],
            "pageCount": self.page_count,
            "missingRequired": list(self.missing_required),
            "timingsMs": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "pages": [p.to_dict() for p in self.pages],
            "backend": self.backend,
            "startedUnixNano": self.started_unix_ns,
            "phases": [p.to_dict() for p in self.phases],
            "ocrEngine": self.ocr_engine,
        }
