from __future__ import annotations

import pytest
from pydantic import ValidationError

from fieldstone.extract import ExtractionOutput, FieldResult, Variable


def test_variable_recursive_and_camel_case() -> None:
    var = Variable.model_validate(
        {
            "key": "line_items",
            "type": "array",
            "context": "Items",
            "arrayType": "object",
            "fields": [{"key": "qty", "type": "number", "context": "Quantity"}],
        }
    )
    assert var.array_type == "object"
    assert var.fields is not None and var.fields[0].key == "qty"


@pytest.mark.parametrize(
    "bad",
    [
        {"key": "", "type": "string", "context": ""},
        {"key": "  ", "type": "string", "context": ""},
        {"key": "a", "type": "text", "context": ""},
        {"key": "a", "type": "string", "context": "", "arrayType": "string"},
        {"key": "a", "type": "object", "context": ""},
        {"key": "a", "type": "array", "arrayType": "object", "context": ""},
        {
            "key": "a",
            "type": "string",
            "context": "",
            "fields": [{"key": "b", "type": "string", "context": ""}],
        },
        {
            "key": "a",
            "type": "object",
            "context": "",
            "fields": [
                {"key": "b", "type": "string", "context": ""},
                {"key": "b", "type": "number", "context": ""},
            ],
        },
    ],
)
def test_variable_rejects_invalid(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Variable.model_validate(bad)


def test_output_to_dict_is_camel_case() -> None:
    out = ExtractionOutput(
        extracted_data={"a": 1},
        fields=[FieldResult("a", 1, 0.91234, 1, (1.0, 2.0, 3.0, 4.0), "1", None)],
        page_count=1,
        timings_ms={"total": 1.23456},
        missing_required=[],
    )
    d = out.to_dict()
    assert set(d) == {
        "extractedData",
        "fields",
        "pageCount",
        "missingRequired",
        "timingsMs",
        "pages",
        "backend",
        "startedUnixNano",
        "phases",
        "ocrEngine",
    }
    assert d["fields"][0] == {
        "path": "a",
        "value": 1,
        "confidence": 0.912,
        "page": 1,
        "bbox": [1.0, 2.0, 3.0, 4.0],
        "sourceText": "1",
        "reason": None,
    }


def test_template_depth_is_limited() -> None:
    from fieldstone.extract import extract

    var: dict[str, object] = {"key": "leaf", "type": "string", "context": ""}
    for i in range(12):
        var = {"key": f"level{i}", "type": "object", "context": "", "fields": [var]}
    with pytest.raises(ValueError, match="template too large"):
        extract(b"Invoice number: 1", [var])
