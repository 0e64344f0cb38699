"""Fieldstone's offline, deterministic document-extraction engine.

>>> from fieldstone.extract import extract
>>> out = extract(pdf_bytes, [{"key": "invoice_number", "type": "string", "context": "Invoice number"}])
>>> out.extracted_data["invoice_number"]
"""

from fieldstone.extract.backends import (
    Backend,
    BackendResult,
    ExtractionRequest,
    backend_names,
    get_backend,
    register_backend,
)
from fieldstone.extract.engine import extract
from fieldstone.extract.errors import ERROR_CODES, ExtractError
from fieldstone.extract.models import ExtractionOutput, FieldResult, PageInfo, Phase, Variable

__all__ = [
    "ERROR_CODES",
    "Backend",
    "BackendResult",
    "ExtractError",
    "ExtractionOutput",
    "ExtractionRequest",
    "FieldResult",
    "PageInfo",
    "Phase",
    "Variable",
    "backend_names",
    "extract",
    "get_backend",
    "register_backend",
]
