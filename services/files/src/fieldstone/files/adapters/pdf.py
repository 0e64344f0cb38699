"""Opens an uploaded PDF with PDFium to learn whether it reads, is encrypted, and how many pages it has."""

from __future__ import annotations

import asyncio
import threading

import pypdfium2 as pdfium

from fieldstone.files.domain.model import PdfFacts

# PDFium is not thread-safe: every call into it must hold this lock.
_PDFIUM = threading.Lock()
_FPDF_ERR_PASSWORD = 4
_FPDF_ERR_SECURITY = 6


def inspect_pdf(data: bytes) -> PdfFacts:
    with _PDFIUM:
        try:
            doc = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            encrypted = getattr(exc, "err_code", None) in (_FPDF_ERR_PASSWORD, _FPDF_ERR_SECURITY)
            return PdfFacts(opened=False, encrypted=encrypted, error=str(exc))
        except Exception as exc:  # the bindings raise assorted errors on garbage input
            return PdfFacts(opened=False, error=str(exc))
        try:
            # Only the page tree is read; pages are never rendered, so a hostile file costs little here.
            return PdfFacts(opened=True, page_count=len(doc))
        finally:
            doc.close()


async def inspect_pdf_async(data: bytes) -> PdfFacts:
    return await asyncio.to_thread(inspect_pdf, data)
