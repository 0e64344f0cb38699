from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fs_extract_pdfs import INVOICE_VARIABLES

from fieldstone.extract import ExtractionOutput, Variable, extract
from fieldstone.extract.cli import main


def _field(out: ExtractionOutput, path: str) -> Any:
    return next(f for f in out.fields if f.path == path)


def test_invoice_label_value_pairs(invoice_pdf: bytes) -> None:
    out = extract(invoice_pdf, INVOICE_VARIABLES)
    data = out.extracted_data
    assert data["invoice_number"] == "INV-2024-003"
    assert data["invoice_date"] == "2024-11-15"
    assert data["due_date"] == "2024-12-15"
    assert data["total_amount"] == 4750.0
    assert data["currency"] == "EUR"
    assert data["iban"] == "DE89370400440532013000"
    assert data["vendor_name"] == "ACME Supplies GmbH"
    assert out.page_count == 1
    assert out.missing_required == []

    number = _field(out, "invoice_number")
    assert number.page == 1
    assert number.source_text == "INV-2024-003"
    assert number.confidence > 0.7
    x0, y0, x1, y1 = number.bbox
    # "Invoice Number: INV-2024-003" starts at x=120 mm (340 pt), baseline y=40 mm (113 pt).
    assert 345 < x0 < x1 < 500 and 100 < y0 < 113.4 < y1 < 118

    total = _field(out, "total_amount")
    assert total.source_text == "4.750,00"
    assert total.bbox[1] > number.bbox[1]  # the total is lower on the page


def test_value_below_label_and_plain_text() -> None:
    text = (
        "Invoice Date        Invoice No.        Customer\n"
        "2024-03-01          A-1001             Globex\n"
        "\n"
        "Grand total  $1,234.50\n"
        "Paid: yes\n"
    )
    variables = [
        {"key": "invoice_date", "type": "date", "context": "Date the invoice was issued"},
        {"key": "invoice_number", "type": "string", "context": "Invoice number"},
        {"key": "total", "type": "number", "context": "Grand total"},
        {"key": "currency", "type": "string", "context": "ISO currency code"},
        {"key": "paid", "type": "boolean", "context": "Whether the invoice is paid"},
    ]
    out = extract(text.encode(), variables)
    assert out.extracted_data == {
        "invoice_date": "2024-03-01",
        "invoice_number": "A-1001",
        "total": 1234.5,
        "currency": "USD",
        "paid": True,
    }


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            ["Rechnungsnummer: RE-77", "Rechnungsdatum: 7. Mai 2014", "Gesamtbetrag: 1.234,56 EUR"],
            {"invoice_number": "RE-77", "date": "2014-05-07", "amount": 1234.56},
        ),
        (
            ["Facture n° F-2022-9", "Date : 28/11/2022", "Total HT : 46,68 EUR", "Total TTC : 56,02 EUR"],
            {"invoice_number": "F-2022-9", "date": "2022-11-28", "amount": 56.02},
        ),
        (
            [
                "Factuurnummer: 993548900",
                "Factuurdatum: 19 april 2014",
                "Exclusief BTW 593,36",
                "Totaal 717,97",
            ],
            {"invoice_number": "993548900", "date": "2014-04-19", "amount": 717.97},
        ),
    ],
)
def test_multilingual_labels(
    pdf_maker: Callable[..., bytes], rows: list[str], expected: dict[str, Any]
) -> None:
    data = pdf_maker([[(20, 20 + 6 * i, text) for i, text in enumerate(rows)]])
    out = extract(
        data,
        [
            {"key": "invoice_number", "type": "string", "context": "Invoice number"},
            {"key": "date", "type": "date", "context": "Invoice date"},
            {"key": "amount", "type": "number", "context": "Total amount including tax"},
        ],
    )
    assert out.extracted_data == expected


def test_shape_missing_and_required(invoice_pdf: bytes) -> None:
    variables = [
        {"key": "invoice_number", "type": "string", "context": "Invoice number", "required": True},
        {"key": "po_number", "type": "string", "context": "Purchase order number", "required": True},
        {
            "key": "supplier",
            "type": "object",
            "context": "Seller",
            "fields": [
                {"key": "iban", "type": "string", "context": "IBAN"},
                {"key": "phone", "type": "string", "context": "Phone number"},
            ],
        },
        {"key": "tags", "type": "array", "arrayType": "string", "context": "Tags"},
    ]
    out = extract(invoice_pdf, [Variable.model_validate(v) for v in variables])
    assert out.extracted_data == {
        "invoice_number": "INV-2024-003",
        "po_number": None,
        "supplier": {"iban": "DE89370400440532013000", "phone": None},
        "tags": None,
    }
    assert out.missing_required == ["po_number"]
    po = _field(out, "po_number")
    assert po.value is None and po.confidence == 0.0 and po.reason
    assert _field(out, "supplier.iban").page == 1
    d = out.to_dict()
    json.dumps(d)  # JSON-ready
    assert d["extractedData"]["supplier"]["iban"] == "DE89370400440532013000"
    assert {"total", "read", "match"} <= set(d["timingsMs"])


def test_deterministic(invoice_pdf: bytes) -> None:
    a = extract(invoice_pdf, INVOICE_VARIABLES).to_dict()
    b = extract(invoice_pdf, INVOICE_VARIABLES).to_dict()
    for out in (a, b):  # everything but the timings
        for timing in ("timingsMs", "startedUnixNano", "phases"):
            out.pop(timing)
        for page in out["pages"]:
            for timing in ("ms", "ocrMs", "offsetMs"):
                page.pop(timing)
    assert a == b


def test_invalid_template_raises_validation_error(invoice_pdf: bytes) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        extract(invoice_pdf, [{"key": "x", "type": "nope", "context": ""}])


def test_cli_success_and_error(
    tmp_path: Path, invoice_pdf: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf = tmp_path / "inv.pdf"
    pdf.write_bytes(invoice_pdf)
    template = tmp_path / "tpl.json"
    template.write_text(json.dumps({"variables": INVOICE_VARIABLES[:2]}))
    assert main([str(pdf), "--template", str(template), "--pages", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["extractedData"]["invoice_number"] == "INV-2024-003"
    assert out["pageCount"] == 1

    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 garbage")
    assert main([str(bad), "--template", str(template)]) == 2
    err = json.loads(capsys.readouterr().out)
    assert err["error"]["code"] == "UNREADABLE_PDF"


LINE_ITEMS = {
    "key": "line_items",
    "type": "array",
    "context": "Individual line items on the invoice",
    "arrayType": "object",
    "fields": [
        {"key": "description", "type": "string", "context": "Item description"},
        {"key": "quantity", "type": "number", "context": "Quantity ordered"},
        {"key": "unit_price", "type": "number", "context": "Price per unit"},
        {"key": "amount", "type": "number", "context": "Line total"},
    ],
}


def test_table_rows_for_array_of_objects(invoice_pdf: bytes) -> None:
    out = extract(
        invoice_pdf, [LINE_ITEMS, {"key": "total", "type": "number", "context": "Total amount due"}]
    )
    assert out.extracted_data["line_items"] == [
        {"description": "Cloud Hosting - Pro Plan", "quantity": 1, "unit_price": 2500.0, "amount": 2500.0},
        {"description": "SSL Certificate (Wildcard)", "quantity": 3, "unit_price": 750.0, "amount": 2250.0},
    ]
    assert out.extracted_data["total"] == 4750.0
    qty = _field(out, "line_items[1].quantity")
    assert qty.value == 3 and qty.page == 1 and qty.source_text == "3"
    # The quantity column starts at x=110 mm (312 pt); the second row's baseline is at 106 mm (300 pt).
    assert 305 < qty.bbox[0] < 320 and 285 < qty.bbox[1] < 300.5 < qty.bbox[3] < 306


def test_multiline_descriptions_and_notes_are_not_items(pdf_maker: Callable[..., bytes]) -> None:
    rows = [
        (20, 20, "Pos."),
        (35, 20, "Description"),
        (120, 20, "Qty"),
        (150, 20, "Price"),
        (180, 20, "Total"),
        (20, 30, "1"),
        (35, 30, "Consulting"),
        (120, 30, "2"),
        (150, 30, "100.00"),
        (180, 30, "200.00"),
        (35, 35, "March 2024, remote"),
        (20, 45, "2"),
        (35, 45, "Travel"),
        (120, 45, "1"),
        (150, 45, "50.00"),
        (180, 45, "50.00"),
        (150, 60, "Total:"),
        (180, 60, "250.00"),
        (20, 75, "Thank you for your business. Questions? Call 555 1234 567"),
    ]
    out = extract(pdf_maker([rows]), [LINE_ITEMS])
    items = out.extracted_data["line_items"]
    assert items == [
        {
            "description": "Consulting\nMarch 2024, remote",
            "quantity": 2,
            "unit_price": 100.0,
            "amount": 200.0,
        },
        {"description": "Travel", "quantity": 1, "unit_price": 50.0, "amount": 50.0},
    ]


def test_concurrent_calls_are_safe(invoice_pdf: bytes) -> None:
    """The service runs extract() in worker threads: PDFium is serialised inside the library."""
    from concurrent.futures import ThreadPoolExecutor

    expected = extract(invoice_pdf, INVOICE_VARIABLES).extracted_data
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: extract(invoice_pdf, INVOICE_VARIABLES).extracted_data, range(16)))
    assert all(r == expected for r in results)
