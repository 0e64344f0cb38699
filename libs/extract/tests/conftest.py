"""Fixtures for the extraction tests: PDFs generated with fpdf2."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fs_extract_pdfs import INVOICE_ROWS, make_pdf


@pytest.fixture(scope="session")
def invoice_pdf() -> bytes:
    return make_pdf([INVOICE_ROWS])


@pytest.fixture(scope="session")
def pdf_maker() -> Callable[..., bytes]:
    return make_pdf
