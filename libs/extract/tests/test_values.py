from __future__ import annotations

import pytest

from fieldstone.extract.dates import parse_date
from fieldstone.extract.normalize import fold, key_words, tokens
from fieldstone.extract.values import parse_bool, parse_currency, parse_number


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("1.234,56 €", None, 1234.56),
        ("$1,234.50", None, 1234.5),
        ("4.750,00 EUR", None, 4750.0),
        ("Total  1 234,56", None, 1234.56),
        ("-9,32", None, -9.32),
        ("(12.00)", None, -12.0),
        ("1.234", ",", 1234),
        ("1,234", ",", 1.234),
        ("1,234", None, 1234),
        ("0,75 €", None, 0.75),
        ("TVA 20% : 9,34 €", None, 9.34),
        ("12,-", None, 12),
        ("1'234.50", None, 1234.5),  # Swiss apostrophe thousands
        ("CHF 1'250.60", None, 1250.6),
        ("1\u00a0234,56", None, 1234.56),  # no-break space thousands
        ("1 182,60 €", None, 1182.6),
        ("€ 1.050,00", None, 1050.0),
        ("EUR 1,050.00", None, 1050.0),
        ("1.050", ".", 1.05),
        ("12.345.678,9", None, 12345678.9),
        ("1,234,567.89", None, 1234567.89),
        ("\u221212,50", None, -12.5),  # minus sign
        ("3,5", None, 3.5),
        ("0.5", None, 0.5),
        ("8.5%", None, 8.5),
        ("no number here", None, None),
    ],
)
def test_parse_number(text: str, decimal: str | None, expected: float | None) -> None:
    assert parse_number(text, decimal) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("15.11.2024", "DMY", "2024-11-15"),
        ("2024-11-15", "DMY", "2024-11-15"),
        ("11/15/2024", "DMY", "2024-11-15"),  # the numbers decide the order
        ("03/04/2023", "MDY", "2023-03-04"),
        ("03/04/2023", "DMY", "2023-04-03"),
        ("7. Mai 2014", "DMY", "2014-05-07"),
        ("02 Juillet 2015", "DMY", "2015-07-02"),
        ("29 maart 2014", "DMY", "2014-03-29"),
        ("August 3 , 2014", "DMY", "2014-08-03"),
        ("Nov 15, 2024", "DMY", "2024-11-15"),
        ("1er janvier 2021", "DMY", "2021-01-01"),
        ("15 de marzo de 2024", "DMY", "2024-03-15"),
        ("01.05.14-31.05.14", "DMY", "2014-05-01"),
        ("2024/02/29", "DMY", "2024-02-29"),
        ("29-02-2024", "DMY", "2024-02-29"),
        ("Feb 29, 2024", "DMY", "2024-02-29"),
        ("29. Februar 2024", "DMY", "2024-02-29"),
        ("1er mars 2024", "DMY", "2024-03-01"),
        ("12 février 2024", "DMY", "2024-02-12"),
        ("15 octobre 2023", "DMY", "2023-10-15"),
        ("7 maart 2024", "DMY", "2024-03-07"),
        ("3 mei 2024", "DMY", "2024-05-03"),
        ("March 1st, 2024", "DMY", "2024-03-01"),
        ("1 Feb 2024", "DMY", "2024-02-01"),
        ("2024-05-31T10:00:00", "DMY", "2024-05-31"),
        ("31.12.24", "DMY", "2024-12-31"),
        ("01/06/2024 14:32", "DMY", "2024-06-01"),
        ("13/03/2024", "MDY", "2024-03-13"),  # impossible month: the numbers win over the order
        ("31.02.2024", "DMY", None),
        ("2023-02-29", "DMY", None),
        ("yesterday", "DMY", None),
    ],
)
def test_parse_date(text: str, order: str, expected: str | None) -> None:
    assert parse_date(text, order) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4,00 €", "EUR"),
        ("$ 12", "USD"),
        ("Rs 1939", "INR"),
        ("316,83 PLN", "PLN"),
        ("in US Dollars", "USD"),
        ("£5", "GBP"),
        ("CHF 12", "CHF"),
        ("Fr. 12.50", "CHF"),
        ("12 zł", "PLN"),
        ("US$ 5", "USD"),
        ("¥500", "JPY"),
        ("₹ 1939", "INR"),
        ("R$ 10", "BRL"),
        ("A$ 20", "AUD"),
        ("C$ 20", "CAD"),
        ("SEK 100", "SEK"),
        ("12,00 EUR", "EUR"),
        ("nothing", None),
    ],
)
def test_parse_currency(text: str, expected: str | None) -> None:
    assert parse_currency(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes", True),
        ("nein", False),
        ("Oui", True),
        ("non", False),
        ("x", True),
        ("☑", True),
        ("☐", False),
        ("checked", True),
        ("ja", True),
        ("nee", False),
        ("true", True),
        ("false", False),
        ("[x]", True),
        ("maybe", None),
    ],
)
def test_parse_bool(text: str, expected: bool | None) -> None:
    assert parse_bool(text) is expected


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Numéro", "numero"),
        ("Größe", "grosse"),
        ("Łódź", "lodz"),
        ("\ufb01nal", "final"),  # ligature
        ("FACTURE N°", "facture n°"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rechnungs-Nr.: RE-77", ["rechnungs", "nr", "re", "77"]),
        ("N° de facture", ["n", "de", "facture"]),
        ("invoice_number", ["invoice", "number"]),
    ],
)
def test_tokens(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


@pytest.mark.parametrize(
    ("key", "words"),
    [("invoiceNumber", "invoice number"), ("invoice_number", "invoice number"), ("VAT-ID", "vat id")],
)
def test_key_words(key: str, words: str) -> None:
    assert key_words(key) == words
