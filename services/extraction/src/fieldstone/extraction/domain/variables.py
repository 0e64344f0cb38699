"""Template variables: the recursive `Variable` of the reference schema, checked with precise messages.

A message names the path of the bad variable (`variables[2].fields[0]`), its key path when known
(`"line_items.unit_price"`) and what is wrong, so a client can fix a large template without guessing.
The checked list comes back normalised (sparse, like the public JSON).
"""

from __future__ import annotations

import json
from typing import Any

from fieldstone.common.errors import ValidationFailed

TYPES = ("string", "number", "date", "boolean", "object", "array")
ARRAY_TYPES = ("string", "number", "object")
ATTRIBUTES = ("key", "type", "context", "required", "fields", "arrayType")
MAX_DEPTH = 8  # the engine's own limit (libs/extract)
MAX_VARIABLES = 500  # at all levels together
MAX_KEY_LENGTH = 100
MAX_CONTEXT_LENGTH = 2000
MAX_TEMPLATE_BYTES = 256 * 1024
# Keys become parts of field paths ("line_items[0].unit_price"), so these cannot be in one.
_PATH_CHARACTERS = frozenset(".[]")


def check_variables(variables: Any, where: str = "variables") -> list[dict[str, Any]]:
    """The variables, normalised; ValidationFailed naming the first problem otherwise."""
    if not isinstance(variables, list) or not variables:
        raise ValidationFailed(f"{where}: give a non-empty list of variables")
    counter = [0]
    checked = _check_level(variables, where, "", 1, counter)
    size = len(json.dumps(checked, ensure_ascii=False).encode())
    if size > MAX_TEMPLATE_BYTES:
        raise ValidationFailed(
            f"{where}: the variables take {size // 1024} KiB; at most {MAX_TEMPLATE_BYTES // 1024} KiB"
        )
    return checked


def _check_level(
    items: list[Any], where: str, parent: str, depth: int, counter: list[int]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    first_index: dict[str, int] = {}
    for i, item in enumerate(items):
        path = f"{where}[{i}]"
        counter[0] += 1
        if counter[0] > MAX_VARIABLES:
            raise ValidationFailed(
                f"{path}: too many variables; at most {MAX_VARIABLES} in all levels together"
            )
        variable = _check_one(item, path, parent, depth, counter)
        key = variable["key"]
        if key in first_index:
            raise ValidationFailed(
                f"{path}.key: duplicate key {key!r} (already used by {where}[{first_index[key]}])"
            )
        first_index[key] = i
        out.append(variable)
    return out


def _check_one(item: Any, path: str, parent: str, depth: int, counter: list[int]) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ValidationFailed(f"{path}: must be an object with key, type and context")
    unknown = sorted(set(item) - set(ATTRIBUTES))
    if unknown:
        raise ValidationFailed(f"{path}: unknown attribute {unknown[0]!r} (allowed: {', '.join(ATTRIBUTES)})")
    key = _check_key(item.get("key"), path)
    label = f"{path} ({(parent + key)!r})"
    vtype = item.get("type")
    if vtype not in TYPES:
        raise ValidationFailed(f"{path}.type: {vtype!r} is not one of {', '.join(TYPES)}")
    context = item.get("context", "")
    if context is None:
        context = ""
    if not isinstance(context, str):
        raise ValidationFailed(f"{path}.context: must be a string")
    if len(context) > MAX_CONTEXT_LENGTH:
        raise ValidationFailed(f"{path}.context: {len(context)} characters; at most {MAX_CONTEXT_LENGTH}")
    required = item.get("required", False)
    if not isinstance(required, bool):
        raise ValidationFailed(f"{path}.required: must be true or false")
    array_type = item.get("arrayType")
    fields = item.get("fields")
    if fields is not None and not isinstance(fields, list):
        raise ValidationFailed(f"{path}.fields: must be a list of variables")
    _check_shape(vtype, array_type, fields, path, label)

    out: dict[str, Any] = {"key": key, "type": vtype, "context": context}
    if required:
        out["required"] = True
    if array_type is not None:
        out["arrayType"] = array_type
    if fields:
        if depth >= MAX_DEPTH:
            raise ValidationFailed(f"{label}: nested deeper than {MAX_DEPTH} levels")
        out["fields"] = _check_level(fields, f"{path}.fields", f"{parent}{key}.", depth + 1, counter)
    return out


def _check_key(key: Any, path: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ValidationFailed(f"{path}.key: must be a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(f"{path}.key: {len(key)} characters; at most {MAX_KEY_LENGTH}")
    if key != key.strip():
        raise ValidationFailed(f"{path}.key: {key!r} starts or ends with whitespace")
    if _PATH_CHARACTERS & set(key) or any(ord(c) < 32 for c in key):
        raise ValidationFailed(
            f"{path}.key: {key!r} must not contain '.', '[', ']' or control characters "
            "(they separate the parts of a field path)"
        )
    return key


def _check_shape(vtype: str, array_type: Any, fields: list[Any] | None, path: str, label: str) -> None:
    if array_type is not None:
        if vtype != "array":
            raise ValidationFailed(f"{label}: arrayType is only for variables of type array, not {vtype}")
        if array_type not in ARRAY_TYPES:
            raise ValidationFailed(f"{path}.arrayType: {array_type!r} is not one of {', '.join(ARRAY_TYPES)}")
    if vtype == "object" and not fields:
        raise ValidationFailed(f"{label}: an object needs a non-empty fields list")
    if vtype == "array":
        if array_type == "object" and not fields:
            raise ValidationFailed(f"{label}: an array of objects needs a non-empty fields list")
        if fields and array_type != "object":
            shown = "no arrayType" if array_type is None else f"arrayType {array_type!r}"
            raise ValidationFailed(
                f"{label}: fields describe array items only with arrayType 'object' ({shown})"
            )
    if vtype not in ("object", "array") and fields is not None:
        raise ValidationFailed(f"{label}: fields are only for objects and arrays of objects, not {vtype}")
