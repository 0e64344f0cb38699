"""The table reader (arrays of objects): header row -> columns -> rows, table-driven over layouts."""

from __future__ import annotations

from typing import Any

import pytest

from fieldstone.extract import extract
from fieldstone.extract.engine import build_context
from fieldstone.extract.labels import LineTokens, build_spec
from fieldstone.extract.models import Variable
from fieldstone.extract.reading import read_document
from fieldstone.extract.tables import find_header


def items(*fields: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "key": "items",
        "type": "array",
        "arrayType": "object",
        "context": "Line items",
        "fields": [{"key": k, "type": t, "context": c} for k, t, c in fields],
    }


ITEMS = items(
    ("description", "string", "Item description"),
    ("quantity", "number", "Quantity"),
    ("unit_price", "number", "Unit price"),
    ("amount", "number", "Line total"),
)


def rows_of(text: str, var: dict[str, Any] = ITEMS) -> Any:
    return extract(text.encode(), [var]).extracted_data[var["key"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # English, dot decimals
            "Description            Qty    Unit Price     Amount\n"
            "Widget                   2         5.00      10.00\n"
            "Gadget, blue             1        12.50      12.50\n"
            "\n"
            "Total                                        22.50\n",
            [("Widget", 2, 5.0, 10.0), ("Gadget, blue", 1, 12.5, 12.5)],
        ),
        (  # German, comma decimals and thousands
            "Bezeichnung            Menge   Einzelpreis   Gesamtpreis\n"
            "Montage                    3      1.200,00      3.600,00\n"
            "Material                  10         4,95         49,50\n"
            "                                 Gesamtbetrag   3.649,50\n",
            [("Montage", 3, 1200.0, 3600.0), ("Material", 10, 4.95, 49.5)],
        ),
        (  # French, label with a trailing word in the header cell
            "Désignation          Quantité   Prix unitaire HT   Montant HT\n"
            "Conseil                     2             450,00       900,00\n"
            "Déplacement                 1              85,50        85,50\n",
            [("Conseil", 2, 450.0, 900.0), ("Déplacement", 1, 85.5, 85.5)],
        ),
        (  # Dutch
            "Omschrijving         Aantal      Prijs      Bedrag\n"
            "Onderhoud                 1      95,00       95,00\n"
            "Thermostaat               2     202,50      405,00\n",
            [("Onderhoud", 1, 95.0, 95.0), ("Thermostaat", 2, 202.5, 405.0)],
        ),
        (  # Columns in another order, a position column nobody asked for
            "Pos   Amount   Qty   Description              Price\n"
            "1      20.00     4   Paper A4                  5.00\n"
            "2       9.00     3   Pens                      3.00\n",
            [("Paper A4", 4, 5.0, 20.0), ("Pens", 3, 3.0, 9.0)],
        ),
        (  # A description continued on the next line; a note below the table is not an item
            "Description            Qty    Unit Price     Amount\n"
            "Consulting               2       100.00     200.00\n"
            "  March 2024, remote\n"
            "Travel                   1        50.00      50.00\n"
            + "\n" * 8
            + "Thank you for your business. Call 555 1234 567\n",
            [("Consulting\nMarch 2024, remote", 2, 100.0, 200.0), ("Travel", 1, 50.0, 50.0)],
        ),
    ],
)
def test_table_rows(text: str, expected: list[tuple[Any, ...]]) -> None:
    rows = rows_of(text)
    assert [(r["description"], r["quantity"], r["unit_price"], r["amount"]) for r in rows] == expected


def test_no_table_gives_null_with_reason() -> None:
    out = extract(b"Invoice number: 12\nTotal: 5.00\n", [ITEMS])
    assert out.extracted_data == {"items": None}
    assert out.fields[0].reason and "table" in out.fields[0].reason


def test_rows_carry_boxes_and_page() -> None:
    text = "Description   Qty   Amount\nWidget          2    10.00\n"
    out = extract(
        text.encode(),
        [
            items(
                ("description", "string", "Item"),
                ("quantity", "number", "Qty"),
                ("amount", "number", "Total"),
            )
        ],
    )
    qty = next(f for f in out.fields if f.path == "items[0].quantity")
    assert qty.value == 2 and qty.page == 1 and qty.source_text == "2" and qty.bbox is not None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Description    Qty    Unit Price    Amount", ["description", "quantity", "unit_price", "amount"]),
        ("Bezeichnung   Menge   Einzelpreis   Gesamt", ["description", "quantity", "unit_price", "amount"]),
        ("Omschrijving   Aantal   Prijs   Bedrag", ["description", "quantity", "unit_price", "amount"]),
        ("Item   Hours   Rate   Total", ["description", "quantity", "unit_price", "amount"]),
        ("Total due   1,234.50", None),  # amounts: not a header
        ("Thank you for your business", None),
    ],
)
def test_find_header(header: str, expected: list[str] | None) -> None:
    var = Variable.model_validate(ITEMS)
    specs = [build_spec(f"items[].{f.key}", f, in_table=True) for f in var.fields or []]
    doc = read_document(header.encode())
    ctx = build_context(doc, [])
    found = find_header(LineTokens(ctx.lines[0].line), specs)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert [c.spec.var.key for c in found.columns if c.spec is not None] == expected
