"""Template variables: every malformed shape is refused with a message naming where and why."""

from __future__ import annotations

from typing import Any

import pytest

from fieldstone.common.errors import ValidationFailed
from fieldstone.extraction.domain.variables import MAX_DEPTH, MAX_VARIABLES, check_variables


def v(key: str = "total", type: str = "number", **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": type, "context": "c", **extra}


def nested(depth: int) -> dict[str, Any]:
    inner = v("leaf", "string")
    for level in range(depth - 1):
        inner = v(f"level{level}", "object", fields=[inner])
    return inner


LINE_ITEMS = v("line_items", "array", arrayType="object", fields=[v("description", "string"), v("qty")])

MALFORMED: list[tuple[str, Any, str]] = [
    ("not a list", {"key": "a"}, "variables: give a non-empty list of variables"),
    ("empty list", [], "variables: give a non-empty list of variables"),
    ("item not an object", ["total"], "variables[0]: must be an object with key, type and context"),
    ("unknown attribute", [v(kind="x")], "variables[0]: unknown attribute 'kind'"),
    ("missing key", [{"type": "string"}], "variables[0].key: must be a non-empty string"),
    ("blank key", [v(" ")], "variables[0].key: must be a non-empty string"),
    ("key too long", [v("k" * 101)], "variables[0].key: 101 characters; at most 100"),
    (
        "key with surrounding space",
        [v(" total")],
        "variables[0].key: ' total' starts or ends with whitespace",
    ),
    ("key with a dot", [v("a.b")], "variables[0].key: 'a.b' must not contain '.', '[', ']'"),
    ("key with brackets", [v("a[0]")], "variables[0].key: 'a[0]' must not contain"),
    ("unknown type", [v(type="text")], "variables[0].type: 'text' is not one of string, number, date"),
    ("missing type", [{"key": "a", "context": ""}], "variables[0].type: None is not one of"),
    ("context not a string", [v(context=5)], "variables[0].context: must be a string"),
    ("context too long", [v(context="x" * 2001)], "variables[0].context: 2001 characters; at most 2000"),
    ("required not a boolean", [v(required="yes")], "variables[0].required: must be true or false"),
    (
        "duplicate keys",
        [v("total"), v("date", "date"), v("total", "string")],
        "variables[2].key: duplicate key 'total' (already used by variables[0])",
    ),
    (
        "duplicate nested keys",
        [v("address", "object", fields=[v("city", "string"), v("city", "string")])],
        "variables[0].fields[1].key: duplicate key 'city' (already used by variables[0].fields[0])",
    ),
    (
        "object without fields",
        [v("address", "object")],
        "variables[0] ('address'): an object needs a non-empty",
    ),
    (
        "object with empty fields",
        [v("address", "object", fields=[])],
        "variables[0] ('address'): an object needs a non-empty fields list",
    ),
    (
        "object with arrayType",
        [v("address", "object", arrayType="object", fields=[v()])],
        "variables[0] ('address'): arrayType is only for variables of type array, not object",
    ),
    (
        "scalar with arrayType",
        [v("total", "number", arrayType="number")],
        "variables[0] ('total'): arrayType is only for variables of type array, not number",
    ),
    (
        "scalar with fields",
        [v("total", "number", fields=[v("x")])],
        "variables[0] ('total'): fields are only for objects and arrays of objects, not number",
    ),
    (
        "unknown arrayType",
        [v("tags", "array", arrayType="date")],
        "variables[0].arrayType: 'date' is not one of",
    ),
    (
        "array of objects without fields",
        [v("items", "array", arrayType="object")],
        "variables[0] ('items'): an array of objects needs a non-empty fields list",
    ),
    (
        "array of strings with fields",
        [v("tags", "array", arrayType="string", fields=[v()])],
        "variables[0] ('tags'): fields describe array items only with arrayType 'object' (arrayType 'string')",
    ),
    (
        "array with fields but no arrayType",
        [v("items", "array", fields=[v()])],
        "variables[0] ('items'): fields describe array items only with arrayType 'object' (no arrayType)",
    ),
    ("fields not a list", [v("a", "object", fields={"key": "x"})], "variables[0].fields: must be a list"),
    (
        "bad variable deep inside",
        [LINE_ITEMS, v("party", "object", fields=[v("address", "object", fields=[v("zip", "zipcode")])])],
        "variables[1].fields[0].fields[0].type: 'zipcode' is not one of",
    ),
    (
        "bad shape deep inside names the key path",
        [v("party", "object", fields=[v("address", "object", fields=[v("lines", "array", fields=[v()])])])],
        "variables[0].fields[0].fields[0] ('party.address.lines'): fields describe array items only",
    ),
    ("too deep", [nested(MAX_DEPTH + 1)], f"nested deeper than {MAX_DEPTH} levels"),
    (
        "too many variables",
        [v(f"k{i}", "string") for i in range(MAX_VARIABLES + 1)],
        f"variables[{MAX_VARIABLES}]: too many variables; at most {MAX_VARIABLES}",
    ),
    (
        "too large",
        [v(f"k{i}", "string", context="x" * 2000) for i in range(140)],
        "variables: the variables take 280 KiB; at most 256 KiB",
    ),
]


@pytest.mark.parametrize(("shape", "variables", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_each_malformed_shape_is_refused_precisely(shape: str, variables: Any, message: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_variables(variables)
    assert refused.value.code == "VALIDATION_ERROR"
    assert message in refused.value.message, refused.value.message


def test_the_reference_invoice_template_is_valid_and_comes_back_normalised() -> None:
    template = [
        {"key": "vendor_name", "type": "string", "context": "Vendor", "required": True},
        {"key": "invoice_date", "type": "date", "context": "Date", "required": False},
        {
            "key": "billing_address",
            "type": "object",
            "context": "Address",
            "fields": [{"key": "street", "type": "string", "context": "Street"}],
        },
        LINE_ITEMS,
        {"key": "tags", "type": "array", "context": "Tags", "arrayType": "string"},
        {"key": "paid", "type": "boolean", "context": None},
    ]
    checked = check_variables(template)
    assert checked[0] == {"key": "vendor_name", "type": "string", "context": "Vendor", "required": True}
    assert checked[1] == {"key": "invoice_date", "type": "date", "context": "Date"}  # sparse
    assert checked[3]["fields"][1] == {"key": "qty", "type": "number", "context": "c"}
    assert checked[5] == {"key": "paid", "type": "boolean", "context": ""}
    assert check_variables([nested(MAX_DEPTH)])  # the deepest allowed


def test_an_array_without_arrayType_is_an_array_of_strings() -> None:
    assert check_variables([v("tags", "array")]) == [v("tags", "array")]
