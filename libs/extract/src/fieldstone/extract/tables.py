"""Arrays of objects from tables: a header row matched to the item fields, one row per item."""

from __future__ import annotations

from typing import Any

from fieldstone.extract.fields import Context
from fieldstone.extract.models import FieldResult, Variable


def extract_rows(var: Variable, path: str, ctx: Context) -> tuple[list[dict[str, Any]], list[FieldResult]]:
    return [], []
