"""Fixtures for the extraction tests: PDFs generated with fpdf2."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fs_extract_pdfs import INVOICE_ROWS, make_pdf


@pytest.fixture(scope="session")
def invoice_pdf() -> bytes:
    return make_pdf([INVOICE_ROWS])


@pytest.fixture(scope="session")
def pdf_maker() -> Callable[..., bytes]:
    return make_pdf


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "ocr: runs a real OCR engine (small, a few seconds); skipped when none is installed"
    )


@pytest.fixture
def ocr_engine() -> Iterator[str]:
    """The installed OCR engine's name; skips the test when there is none."""
    from fieldstone.extract.reading import ocr

    ocr.use_engine(None)
    name = ocr.engine_name()
    if name is None:
        pytest.skip(ocr.ocr_unavailable_reason())
    yield name
    ocr.use_engine(None)
