from __future__ import annotations

import pytest

from fieldstone.extract.dates import parse_date
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
        ("31.02.2024", "DMY", None),
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
        ("maybe", None),
    ],
)
def test_parse_bool(text: str, expected: bool | None) -> None:
    assert parse_bool(text) is expected
