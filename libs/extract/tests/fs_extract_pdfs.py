"""Test PDFs generated with fpdf2 at test time (no binary fixtures in the repository)."""

from __future__ import annotations

from collections.abc import Sequence

from fpdf import FPDF

Row = tuple[float, float, str]  # x, y (mm from the top-left corner), text


def make_pdf(pages: Sequence[Sequence[Row]], *, font_size: int = 10, encrypt: str | None = None) -> bytes:
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    if encrypt is not None:
        pdf.set_encryption(owner_password="owner-" + encrypt, user_password=encrypt)
    for rows in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=font_size)
        for x, y, text in rows:
            pdf.text(x, y, text)
    return bytes(pdf.output())


INVOICE_ROWS: list[Row] = [
    (20, 20, "ACME Supplies GmbH"),
    (20, 26, "Hauptstrasse 1, 10115 Berlin"),
    (120, 40, "Invoice Number: INV-2024-003"),
    (120, 46, "Invoice Date: 15.11.2024"),
    (120, 52, "Due Date: 15.12.2024"),
    (20, 60, "Bill to:"),
    (20, 66, "Globex Corporation"),
    (20, 90, "Description"),
    (110, 90, "Quantity"),
    (140, 90, "Unit Price"),
    (175, 90, "Amount"),
    (20, 98, "Cloud Hosting - Pro Plan"),
    (110, 98, "1"),
    (140, 98, "2.500,00"),
    (175, 98, "2.500,00"),
    (20, 106, "SSL Certificate (Wildcard)"),
    (110, 106, "3"),
    (140, 106, "750,00"),
    (175, 106, "2.250,00"),
    (120, 130, "Subtotal: 4.750,00 EUR"),
    (120, 136, "VAT 0%: 0,00 EUR"),
    (120, 142, "Total: 4.750,00 EUR"),
    (20, 170, "IBAN: DE89 3704 0044 0532 0130 00"),
]

INVOICE_VARIABLES: list[dict[str, object]] = [
    {"key": "vendor_name", "type": "string", "context": "Name of the vendor or supplier", "required": True},
    {"key": "invoice_number", "type": "string", "context": "Invoice or reference number", "required": True},
    {"key": "invoice_date", "type": "date", "context": "Date the invoice was issued"},
    {"key": "due_date", "type": "date", "context": "Payment due date"},
    {"key": "total_amount", "type": "number", "context": "Total amount due"},
    {"key": "currency", "type": "string", "context": "Currency code (e.g. USD, EUR)"},
    {"key": "iban", "type": "string", "context": "IBAN of the seller"},
]
