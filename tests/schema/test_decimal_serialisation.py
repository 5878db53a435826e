from __future__ import annotations

from decimal import Decimal

import pytest

from schema.types.decimals import money_amount, serialize_decimal


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("-6.7600000000E-8"), "-0.0000000676"),
        (Decimal("0E-18"), "0"),
        (Decimal("-0E-5"), "0"),
        (Decimal("12.3000"), "12.3"),
        (Decimal("1E+3"), "1000"),
        (money_amount(Decimal("12.3"), "USD"), "12.30"),
        (money_amount(Decimal("1500"), "JPY"), "1500"),
        (money_amount(Decimal("-0.001"), "USD"), "0.00"),
        (money_amount(Decimal("1.2"), "BHD"), "1.200"),
    ],
)
def test_decimals_serialise_plain_and_money_at_its_exponent(value: Decimal, text: str) -> None:
    assert serialize_decimal(value) == text


def test_stated_money_shows_the_currency_digits_and_never_rounds() -> None:
    from schema.types.decimals import serialize_decimal, stated_money

    assert serialize_decimal(stated_money(Decimal("5000000"), "USD")) == "5000000.00"
    assert serialize_decimal(stated_money(Decimal("0.00012"), "USD")) == "0.00012"
    assert serialize_decimal(stated_money(Decimal("12000000.000000"), "JPY")) == "12000000"
    assert serialize_decimal(stated_money(Decimal("1500000.25"), "JPY")) == "1500000.25"
    assert serialize_decimal(stated_money(Decimal("0E-18"), "USD")) == "0.00"
    assert serialize_decimal(stated_money(Decimal("1.50"), "XTS-NOT-LISTED")) == "1.5"
