"""A generated corpus of invoices and receipts (fpdf2, made at test time) with expected values.

Varied layouts (label: value, labels above values, key-value e-invoice listing, narrow receipt), languages
(EN, DE, FR, NL), date formats (US, European, ISO, written months) and number formats (1,234.56,
1.234,56, 1 234,56, 1'234.50). ``scan()`` turns a PDF into an image-only "scanned" PDF (grey, slightly
rotated, noisy, JPEG) for the OCR path. Nothing here is tuned to the engine: the documents are written the
way such documents are commonly written, and the expectations are what a person would read.
"""

from __future__ import annotations

import io
import random
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fpdf import FPDF

Text = tuple[float, float, str, float, str]  # x mm, y mm (baseline), text, font size, style ("", "B")


@dataclass(frozen=True)
class CorpusDoc:
    name: str
    language: str
    data: bytes
    variables: list[dict[str, Any]]
    expected: dict[str, Any]


def render(
    texts: Sequence[Text], *, width: float = 210, height: float = 297, rules: Sequence[float] = ()
) -> bytes:
    pdf = FPDF(unit="mm", format=(width, height))
    pdf.core_fonts_encoding = "windows-1252"  # the core fonts' WinAnsi encoding has € and œ
    pdf.set_auto_page_break(False)
    pdf.add_page()
    for y in rules:  # horizontal table rules
        pdf.line(15, y, width - 15, y)
    for x, y, text, size, style in texts:
        pdf.set_font("Helvetica", style=style, size=size)
        pdf.text(x, y, text)
    return bytes(pdf.output())


def _t(x: float, y: float, text: str, size: float = 10, style: str = "") -> Text:
    return (x, y, text, size, style)


def _right(x_right: float, y: float, text: str, size: float = 10, style: str = "") -> Text:
    """Right-aligned text (amount columns); Helvetica widths via fpdf2."""
    pdf = FPDF(unit="mm")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_font("Helvetica", style=style, size=size)
    return (x_right - pdf.get_string_width(text), y, text, size, style)


def _var(key: str, vtype: str, context: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": vtype, "context": context, **extra}


def _items(*fields: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "key": "line_items",
        "type": "array",
        "arrayType": "object",
        "context": "Line items of the invoice",
        "fields": [_var(k, t, c) for k, t, c in fields],
    }


ITEM_FIELDS = (
    ("description", "string", "Item description"),
    ("quantity", "number", "Quantity"),
    ("unit_price", "number", "Unit price"),
    ("amount", "number", "Line total amount"),
)

BASE = [
    _var("vendor_name", "string", "Name of the seller / vendor company"),
    _var("invoice_number", "string", "Invoice number", required=True),
    _var("invoice_date", "date", "Date the invoice was issued"),
    _var("total", "number", "Total amount due including tax", required=True),
    _var("currency", "string", "Currency as ISO 4217 code"),
]
DUE = _var("due_date", "date", "Payment due date")
TAX = _var("tax_amount", "number", "VAT / sales tax amount")
NET = _var("net_amount", "number", "Total amount before tax (net)")
IBAN = _var("iban", "string", "IBAN of the seller's bank account")
VAT_ID = _var("vat_id", "string", "VAT identification number of the seller")


def en_us_invoice() -> CorpusDoc:
    t = [
        _t(15, 20, "Northwind Traders LLC", 16, "B"),
        _t(15, 26, "1200 Market Street, Suite 400"),
        _t(15, 31, "San Francisco, CA 94103"),
        _t(150, 20, "INVOICE", 18, "B"),
        _t(120, 42, "Invoice #:"),
        _t(155, 42, "NW-10045"),
        _t(120, 48, "Invoice Date:"),
        _t(155, 48, "03/14/2024"),
        _t(120, 54, "Due Date:"),
        _t(155, 54, "April 13, 2024"),
        _t(15, 46, "Bill To:", 10, "B"),
        _t(15, 52, "Contoso Ltd."),
        _t(15, 57, "88 Harbor Road, Boston, MA 02110"),
        _t(15, 80, "Description", 10, "B"),
        _t(110, 80, "Qty", 10, "B"),
        _right(160, 80, "Unit Price", 10, "B"),
        _right(195, 80, "Amount", 10, "B"),
        _t(15, 88, "Widget, large"),
        _t(110, 88, "10"),
        _right(160, 88, "$12.50"),
        _right(195, 88, "$125.00"),
        _t(15, 95, "Installation service"),
        _t(110, 95, "2"),
        _right(160, 95, "$80.00"),
        _right(195, 95, "$160.00"),
        _t(130, 115, "Subtotal"),
        _right(195, 115, "$285.00"),
        _t(130, 121, "Sales Tax (8.5%)"),
        _right(195, 121, "$24.23"),
        _t(130, 129, "Total Due", 11, "B"),
        _right(195, 129, "$309.23", 11, "B"),
        _t(15, 150, "Thank you for your business!"),
    ]
    return CorpusDoc(
        "en_us_invoice",
        "en",
        render(t, rules=(83, 100)),
        [*BASE, DUE, TAX, NET, _items(*ITEM_FIELDS)],
        {
            "vendor_name": "Northwind Traders LLC",
            "invoice_number": "NW-10045",
            "invoice_date": "2024-03-14",
            "due_date": "2024-04-13",
            "total": 309.23,
            "currency": "USD",
            "tax_amount": 24.23,
            "net_amount": 285.0,
            "line_items": [
                {"description": "Widget, large", "quantity": 10, "unit_price": 12.5, "amount": 125.0},
                {"description": "Installation service", "quantity": 2, "unit_price": 80.0, "amount": 160.0},
            ],
        },
    )


def de_rechnung() -> CorpusDoc:
    t = [
        _t(15, 15, "Müller & Söhne GmbH", 14, "B"),
        _t(15, 21, "Industriestraße 12 · 70565 Stuttgart", 8),
        _t(15, 40, "Bäckerei Schmidt"),
        _t(15, 45, "Lindenweg 3"),
        _t(15, 50, "80331 München"),
        _t(15, 70, "Rechnung", 16, "B"),
        _t(125, 40, "Rechnungsnummer:"),
        _t(165, 40, "RE-2024-0815"),
        _t(125, 46, "Rechnungsdatum:"),
        _t(165, 46, "05.03.2024"),
        _t(125, 52, "Fällig bis:"),
        _t(165, 52, "04.04.2024"),
        _t(125, 58, "Kundennummer:"),
        _t(165, 58, "K-4711"),
        _t(15, 85, "Pos.", 10, "B"),
        _t(28, 85, "Bezeichnung", 10, "B"),
        _right(125, 85, "Menge", 10, "B"),
        _right(160, 85, "Einzelpreis", 10, "B"),
        _right(195, 85, "Gesamtpreis", 10, "B"),
        _t(15, 93, "1"),
        _t(28, 93, "Schrauben M8, 100 Stück"),
        _right(125, 93, "5"),
        _right(160, 93, "12,90 €"),
        _right(195, 93, "64,50 €"),
        _t(15, 100, "2"),
        _t(28, 100, "Montagearbeiten (Stunden)"),
        _right(125, 100, "3,5"),
        _right(160, 100, "68,00 €"),
        _right(195, 100, "238,00 €"),
        _t(120, 115, "Nettobetrag"),
        _right(195, 115, "302,50 €"),
        _t(120, 121, "zzgl. 19 % MwSt."),
        _right(195, 121, "57,48 €"),
        _t(120, 129, "Gesamtbetrag", 11, "B"),
        _right(195, 129, "359,98 €", 11, "B"),
        _t(15, 150, "Zahlbar innerhalb von 30 Tagen ohne Abzug."),
        _t(15, 275, "Sparkasse Stuttgart · IBAN: DE02 1203 0000 0000 2020 51 · BIC: BYLADEM1001", 8),
        _t(15, 280, "USt-IdNr.: DE 123 456 789 · Amtsgericht Stuttgart HRB 12345", 8),
    ]
    return CorpusDoc(
        "de_rechnung",
        "de",
        render(t, rules=(88, 104)),
        [*BASE, DUE, TAX, NET, IBAN, VAT_ID, _items(*ITEM_FIELDS)],
        {
            "vendor_name": "Müller & Söhne GmbH",
            "invoice_number": "RE-2024-0815",
            "invoice_date": "2024-03-05",
            "due_date": "2024-04-04",
            "total": 359.98,
            "currency": "EUR",
            "tax_amount": 57.48,
            "net_amount": 302.5,
            "iban": "DE02120300000000202051",
            "vat_id": "DE123456789",
            "line_items": [
                {"description": "Schrauben M8, 100 Stück", "quantity": 5, "unit_price": 12.9, "amount": 64.5},
                {
                    "description": "Montagearbeiten (Stunden)",
                    "quantity": 3.5,
                    "unit_price": 68.0,
                    "amount": 238.0,
                },
            ],
        },
    )


def fr_facture() -> CorpusDoc:
    t = [
        _t(15, 18, "DUPONT ET FILS SARL", 14, "B"),
        _t(15, 24, "12 rue de la Paix, 75002 Paris"),
        _t(15, 29, "SIRET 123 456 789 00012 - TVA intracommunautaire FR 12 123456789", 8),
        _t(120, 45, "FACTURE N° FA-2024-0042", 12, "B"),
        _t(120, 52, "Date de facturation : 12 février 2024"),
        _t(120, 58, "Date d'échéance : 13/03/2024"),
        _t(15, 45, "Client :"),
        _t(15, 51, "Librairie Martin"),
        _t(15, 56, "4 place Bellecour, 69002 Lyon"),
        _t(15, 80, "Désignation", 10, "B"),
        _right(120, 80, "Quantité", 10, "B"),
        _right(160, 80, "Prix unitaire HT", 10, "B"),
        _right(195, 80, "Montant HT", 10, "B"),
        _t(15, 88, "Conseil stratégique"),
        _right(120, 88, "2"),
        _right(160, 88, "450,00"),
        _right(195, 88, "900,00"),
        _t(15, 95, "Frais de déplacement"),
        _right(120, 95, "1"),
        _right(160, 95, "85,50"),
        _right(195, 95, "85,50"),
        _t(130, 112, "Total HT"),
        _right(195, 112, "985,50 €"),
        _t(130, 118, "TVA 20 %"),
        _right(195, 118, "197,10 €"),
        _t(130, 126, "Total TTC", 11, "B"),
        _right(195, 126, "1 182,60 €", 11, "B"),
        _t(15, 145, "Conditions de paiement : 30 jours. Pénalités de retard : 3 fois le taux légal."),
    ]
    return CorpusDoc(
        "fr_facture",
        "fr",
        render(t, rules=(83, 99)),
        [*BASE, DUE, TAX, NET, _items(*ITEM_FIELDS)],
        {
            "vendor_name": "DUPONT ET FILS SARL",
            "invoice_number": "FA-2024-0042",
            "invoice_date": "2024-02-12",
            "due_date": "2024-03-13",
            "total": 1182.6,
            "currency": "EUR",
            "tax_amount": 197.1,
            "net_amount": 985.5,
            "line_items": [
                {"description": "Conseil stratégique", "quantity": 2, "unit_price": 450.0, "amount": 900.0},
                {"description": "Frais de déplacement", "quantity": 1, "unit_price": 85.5, "amount": 85.5},
            ],
        },
    )


def nl_factuur() -> CorpusDoc:
    t = [
        _t(15, 18, "Jansen Installatietechniek B.V.", 14, "B"),
        _t(15, 24, "Kerkstraat 5, 3511 LX Utrecht"),
        _t(15, 29, "KvK 12345678 | BTW NL123456789B01", 8),
        _t(15, 50, "FACTUUR", 16, "B"),
        _t(120, 45, "Factuurnummer: 2024-117"),
        _t(120, 51, "Factuurdatum: 7 maart 2024"),
        _t(120, 57, "Vervaldatum: 21-03-2024"),
        _t(15, 75, "Omschrijving", 10, "B"),
        _right(125, 75, "Aantal", 10, "B"),
        _right(160, 75, "Prijs", 10, "B"),
        _right(195, 75, "Bedrag", 10, "B"),
        _t(15, 83, "Onderhoud cv-ketel"),
        _right(125, 83, "1"),
        _right(160, 83, "95,00"),
        _right(195, 83, "95,00"),
        _t(15, 90, "Vervangen thermostaat"),
        _right(125, 90, "1"),
        _right(160, 90, "405,00"),
        _right(195, 90, "405,00"),
        _t(130, 105, "Subtotaal"),
        _right(195, 105, "€ 500,00"),
        _t(130, 111, "BTW 21%"),
        _right(195, 111, "€ 105,00"),
        _t(130, 119, "Totaal", 11, "B"),
        _right(195, 119, "€ 605,00", 11, "B"),
        _t(15, 140, "Gelieve te betalen op IBAN NL91 ABNA 0417 1643 00 o.v.v. het factuurnummer."),
    ]
    return CorpusDoc(
        "nl_factuur",
        "nl",
        render(t, rules=(78, 94)),
        [*BASE, DUE, TAX, NET, IBAN, _items(*ITEM_FIELDS)],
        {
            "vendor_name": "Jansen Installatietechniek B.V.",
            "invoice_number": "2024-117",
            "invoice_date": "2024-03-07",
            "due_date": "2024-03-21",
            "total": 605.0,
            "currency": "EUR",
            "tax_amount": 105.0,
            "net_amount": 500.0,
            "iban": "NL91ABNA0417164300",
            "line_items": [
                {"description": "Onderhoud cv-ketel", "quantity": 1, "unit_price": 95.0, "amount": 95.0},
                {"description": "Vervangen thermostaat", "quantity": 1, "unit_price": 405.0, "amount": 405.0},
            ],
        },
    )


def en_header_row() -> CorpusDoc:
    """Labels in a header row with the values underneath (no colons)."""
    t = [
        _t(15, 20, "Blackbird Design Studio Ltd", 15, "B"),
        _t(15, 26, "7 Canal Wharf, Manchester M1 3LD, United Kingdom", 9),
        _t(15, 50, "Invoice No.", 9, "B"),
        _t(60, 50, "Issue Date", 9, "B"),
        _t(105, 50, "Due Date", 9, "B"),
        _t(150, 50, "Amount Due", 9, "B"),
        _t(15, 56, "BDS-0099"),
        _t(60, 56, "1 Feb 2024"),
        _t(105, 56, "2 Mar 2024"),
        _t(150, 56, "£1,450.00"),
        _t(15, 80, "Item", 10, "B"),
        _right(140, 80, "Hours", 10, "B"),
        _right(165, 80, "Rate", 10, "B"),
        _right(195, 80, "Total", 10, "B"),
        _t(15, 88, "Logo design"),
        _right(140, 88, "12"),
        _right(165, 88, "75.00"),
        _right(195, 88, "900.00"),
        _t(15, 95, "Brand guidelines"),
        _right(140, 95, "5"),
        _right(165, 95, "75.00"),
        _right(195, 95, "375.00"),
        _t(130, 112, "Net"),
        _right(195, 112, "1,275.00"),
        _t(130, 118, "VAT 20% (on £875.00)"),
        _right(195, 118, "175.00"),
        _t(130, 126, "Total", 11, "B"),
        _right(195, 126, "£1,450.00", 11, "B"),
    ]
    return CorpusDoc(
        "en_header_row",
        "en",
        render(t, rules=(83, 99)),
        [*BASE, DUE, TAX, _items(("description", "string", "Item"), *ITEM_FIELDS[1:])],
        {
            "vendor_name": "Blackbird Design Studio Ltd",
            "invoice_number": "BDS-0099",
            "invoice_date": "2024-02-01",
            "due_date": "2024-03-02",
            "total": 1450.0,
            "currency": "GBP",
            "tax_amount": 175.0,
            "line_items": [
                {"description": "Logo design", "quantity": 12, "unit_price": 75.0, "amount": 900.0},
                {"description": "Brand guidelines", "quantity": 5, "unit_price": 75.0, "amount": 375.0},
            ],
        },
    )


def en_receipt() -> CorpusDoc:
    """A narrow till receipt."""
    t = [
        _t(18, 10, "THE COFFEE CORNER", 11, "B"),
        _t(14, 15, "22 High Street, Leeds LS1 4AP", 8),
        _t(17, 19, "VAT No: GB 123 4567 89", 8),
        _t(4, 28, "Receipt No: 000123", 8),
        _t(4, 32, "Date: 01/06/2024 14:32", 8),
        _t(4, 42, "Flat white", 8),
        _right(76, 42, "3.20", 8),
        _t(4, 46, "Croissant", 8),
        _right(76, 46, "2.60", 8),
        _t(4, 50, "Orange juice x2", 8),
        _right(76, 50, "6.60", 8),
        _t(4, 58, "TOTAL", 10, "B"),
        _right(76, 58, "£12.40", 10, "B"),
        _t(4, 63, "Card", 8),
        _right(76, 63, "£12.40", 8),
        _t(4, 67, "VAT included 20%", 8),
        _right(76, 67, "2.07", 8),
        _t(16, 76, "Thank you, see you soon!", 8),
    ]
    variables = [
        _var("vendor_name", "string", "Shop name"),
        _var("invoice_number", "string", "Receipt number"),
        _var("invoice_date", "date", "Date of purchase"),
        _var("total", "number", "Total paid"),
        _var("currency", "string", "Currency code"),
        _var("tax_amount", "number", "VAT amount included"),
    ]
    return CorpusDoc(
        "en_receipt",
        "en",
        render(t, width=80, height=85),
        variables,
        {
            "vendor_name": "THE COFFEE CORNER",
            "invoice_number": "000123",
            "invoice_date": "2024-06-01",
            "total": 12.4,
            "currency": "GBP",
            "tax_amount": 2.07,
        },
    )


def e_invoice() -> CorpusDoc:
    """The kind of listing an EN 16931 (XRechnung / ZUGFeRD) viewer prints: term, ISO values."""
    rows = [
        ("BT-1", "Invoice number", "2024-INV-7781"),
        ("BT-2", "Invoice issue date", "2024-05-31"),
        ("BT-9", "Payment due date", "2024-06-30"),
        ("BT-5", "Invoice currency code", "EUR"),
        ("BT-10", "Buyer reference", "04011000-12345-34"),
        ("BT-27", "Seller name", "Alpine Components AG"),
        ("BT-31", "Seller VAT identifier", "ATU12345678"),
        ("BT-44", "Buyer name", "Stadtwerke Musterstadt"),
        ("BT-109", "Invoice total amount without VAT", "1200.00"),
        ("BT-110", "Invoice total VAT amount", "228.00"),
        ("BT-112", "Invoice total amount with VAT", "1428.00"),
        ("BT-115", "Amount due for payment", "1428.00"),
    ]
    t = [
        _t(15, 18, "Electronic invoice (EN 16931)", 13, "B"),
        _t(15, 24, "Visualisation of an XML invoice", 8),
    ]
    for i, (bt, term, value) in enumerate(rows):
        y = 40 + 6 * i
        t += [_t(15, y, bt, 8), _t(35, y, term), _t(120, y, value)]
    variables = [*BASE, DUE, TAX, NET, VAT_ID]
    return CorpusDoc(
        "e_invoice",
        "en",
        render(t),
        variables,
        {
            "vendor_name": "Alpine Components AG",
            "invoice_number": "2024-INV-7781",
            "invoice_date": "2024-05-31",
            "due_date": "2024-06-30",
            "total": 1428.0,
            "currency": "EUR",
            "tax_amount": 228.0,
            "net_amount": 1200.0,
            "vat_id": "ATU12345678",
        },
    )


def de_ch_rechnung() -> CorpusDoc:
    """Swiss German: written dates, apostrophe thousands, CHF."""
    t = [
        _t(15, 18, "Bergblick Treuhand AG", 14, "B"),
        _t(15, 24, "Bahnhofstrasse 10, 8001 Zürich"),
        _t(15, 29, "MWST-Nr. CHE-123.456.789 MWST", 8),
        _t(15, 50, "Rechnung Nr. 2024/0042", 12, "B"),
        _t(15, 57, "Datum: 31. Januar 2024"),
        _t(15, 63, "Zahlbar bis: 29. Februar 2024"),
        _t(15, 85, "Buchhaltung Januar 2024, Jahresabschluss-Vorbereitung"),
        _t(120, 105, "Total exkl. MWST"),
        _right(195, 105, "CHF 1'156.90"),
        _t(120, 111, "MWST 8.1 %"),
        _right(195, 111, "CHF 93.70"),
        _t(120, 119, "Rechnungsbetrag", 11, "B"),
        _right(195, 119, "CHF 1'250.60", 11, "B"),
    ]
    return CorpusDoc(
        "de_ch_rechnung",
        "de",
        render(t),
        [*BASE, DUE, TAX, NET],
        {
            "vendor_name": "Bergblick Treuhand AG",
            "invoice_number": "2024/0042",
            "invoice_date": "2024-01-31",
            "due_date": "2024-02-29",
            "total": 1250.6,
            "currency": "CHF",
            "tax_amount": 93.7,
            "net_amount": 1156.9,
        },
    )


def fr_ticket() -> CorpusDoc:
    t = [
        _t(20, 10, "BOULANGERIE DU MARCHÉ", 10, "B"),
        _t(16, 15, "3 avenue Jean Jaurès, 31000 Toulouse", 7),
        _t(4, 25, "Ticket n° 4521", 8),
        _t(44, 25, "Date : 15/04/2024", 8),
        _t(4, 35, "2 Baguette tradition", 8),
        _right(76, 35, "2,60", 8),
        _t(4, 39, "1 Tarte aux pommes", 8),
        _right(76, 39, "18,50", 8),
        _t(4, 43, "3 Croissant", 8),
        _right(76, 43, "3,75", 8),
        _t(4, 52, "TOTAL TTC", 10, "B"),
        _right(76, 52, "24,85 €", 10, "B"),
        _t(4, 57, "dont TVA 5,5 %", 8),
        _right(76, 57, "1,30", 8),
    ]
    variables = [
        _var("vendor_name", "string", "Shop name"),
        _var("invoice_number", "string", "Ticket / receipt number"),
        _var("invoice_date", "date", "Date"),
        _var("total", "number", "Total paid"),
        _var("currency", "string", "Currency code"),
        _var("tax_amount", "number", "VAT amount"),
    ]
    return CorpusDoc(
        "fr_ticket",
        "fr",
        render(t, width=80, height=70),
        variables,
        {
            "vendor_name": "BOULANGERIE DU MARCHÉ",
            "invoice_number": "4521",
            "invoice_date": "2024-04-15",
            "total": 24.85,
            "currency": "EUR",
            "tax_amount": 1.30,
        },
    )


def nl_iso() -> CorpusDoc:
    t = [
        _t(15, 18, "De Vries Logistiek B.V.", 14, "B"),
        _t(15, 24, "Havenweg 40, 3089 JH Rotterdam"),
        _t(15, 45, "Factuur 88213", 13, "B"),
        _t(15, 53, "Datum"),
        _t(50, 53, "2024-04-02"),
        _t(15, 59, "Betalen voor"),
        _t(50, 59, "2024-05-02"),
        _t(15, 80, "Transport Rotterdam - Antwerpen, 3 pallets"),
        _t(130, 100, "Totaal excl. btw"),
        _right(195, 100, "867,77"),
        _t(130, 106, "Btw 21%"),
        _right(195, 106, "182,23"),
        _t(130, 114, "Te betalen", 11, "B"),
        _right(195, 114, "EUR 1.050,00", 11, "B"),
    ]
    return CorpusDoc(
        "nl_iso",
        "nl",
        render(t),
        [*BASE, DUE, TAX, NET],
        {
            "vendor_name": "De Vries Logistiek B.V.",
            "invoice_number": "88213",
            "invoice_date": "2024-04-02",
            "due_date": "2024-05-02",
            "total": 1050.0,
            "currency": "EUR",
            "tax_amount": 182.23,
            "net_amount": 867.77,
        },
    )


TEXT_DOCS: list[Callable[[], CorpusDoc]] = [
    en_us_invoice,
    de_rechnung,
    fr_facture,
    nl_factuur,
    en_header_row,
    en_receipt,
    e_invoice,
    de_ch_rechnung,
    fr_ticket,
    nl_iso,
]


def scan(pdf: bytes, *, dpi: int = 200, angle: float = 0.6, noise: float = 0.12, seed: int = 7) -> bytes:
    """An image-only PDF of every page: grey, rotated by ``angle`` degrees, noisy, JPEG-compressed.

    Deterministic for a given seed.
    """
    import pypdfium2 as pdfium
    from PIL import Image, ImageFilter

    doc = pdfium.PdfDocument(pdf)
    pages = []
    rng = random.Random(seed)
    try:
        for page in doc:
            image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
            grain = Image.frombytes("L", image.size, rng.randbytes(image.width * image.height))
            image = Image.blend(image, grain, noise).filter(ImageFilter.GaussianBlur(0.5))
            pages.append(image)
    finally:
        doc.close()
    buf = io.BytesIO()
    fixed = time.gmtime(1_704_067_200)  # 2024-01-01: no wall-clock time in the bytes
    pages[0].save(
        buf,
        format="PDF",
        resolution=dpi,
        save_all=True,
        append_images=pages[1:],
        quality=75,
        creationDate=fixed,
        modDate=fixed,
    )
    return buf.getvalue()


def scanned_de_rechnung() -> CorpusDoc:
    doc = de_rechnung()
    return CorpusDoc(
        "de_rechnung_scan", "de", scan(doc.data, angle=-0.8, seed=11), doc.variables, doc.expected
    )


def scanned_en_us_invoice() -> CorpusDoc:
    doc = en_us_invoice()
    return CorpusDoc(
        "en_us_invoice_scan", "en", scan(doc.data, angle=0.7, seed=5), doc.variables, doc.expected
    )


# The test suite OCRs only the first (seconds each); bench/compare_ocr.py scans every document.
SCANNED_DOCS: list[Callable[[], CorpusDoc]] = [scanned_de_rechnung, scanned_en_us_invoice]


# ------------------------------------------------------------------------------------------ scoring

ID_KEYS = ("iban", "vat_id")


def _norm(key: str, value: Any) -> str:
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(value)).casefold()).strip()
    if key in ID_KEYS:
        text = re.sub(r"[\s.\-]", "", text)
    return text


def leaf_equal(key: str, expected: Any, got: Any) -> bool:
    if got is None:
        return expected is None
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected is got
    if isinstance(expected, (int, float)):
        return isinstance(got, (int, float)) and abs(float(got) - float(expected)) <= 0.005
    return _norm(key, expected) == _norm(key, got)


def score(expected: dict[str, Any], got: dict[str, Any] | None) -> tuple[int, int, list[str]]:
    """(correct, total, misses) over leaf fields; rows of tables are compared in order."""
    got = got or {}
    correct = total = 0
    misses: list[str] = []
    for key, exp in expected.items():
        value = got.get(key)
        if isinstance(exp, list):
            rows = value if isinstance(value, list) else []
            for i, row in enumerate(exp):
                pred = rows[i] if i < len(rows) and isinstance(rows[i], dict) else {}
                for sub, e in row.items():
                    total += 1
                    if leaf_equal(sub, e, pred.get(sub)):
                        correct += 1
                    else:
                        misses.append(f"{key}[{i}].{sub}: expected {e!r}, got {pred.get(sub)!r}")
            continue
        total += 1
        if leaf_equal(key, exp, value):
            correct += 1
        else:
            misses.append(f"{key}: expected {exp!r}, got {value!r}")
    return correct, total, misses
