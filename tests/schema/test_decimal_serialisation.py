from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cost.billing.money import MINOR_UNITS
from schema.types.decimals import money_amount, serialize_decimal, stated_money


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
    assert serialize_decimal(stated_money(Decimal("5000000"), "USD")) == "5000000.00"
    assert serialize_decimal(stated_money(Decimal("0.00012"), "USD")) == "0.00012"
    assert serialize_decimal(stated_money(Decimal("12000000.000000"), "JPY")) == "12000000"
    assert serialize_decimal(stated_money(Decimal("1500000.25"), "JPY")) == "1500000.25"
    assert serialize_decimal(stated_money(Decimal("0E-18"), "USD")) == "0.00"
    assert serialize_decimal(stated_money(Decimal("-0.000"), "USD")) == "0.00"
    assert serialize_decimal(stated_money(Decimal("-5.10"), "USD")) == "-5.10"
    assert serialize_decimal(stated_money(Decimal("1.005"), "USD")) == "1.005"
    assert serialize_decimal(stated_money(Decimal("1.50"), "XTS-NOT-LISTED")) == "1.5"


def _fraction_digits(text: str) -> int:
    return len(text.partition(".")[2])


# 38 digits: what a Decimal input may carry (20 before the point, 18 after), past the default context's 28
@given(st.decimals(allow_nan=False, allow_infinity=False).filter(lambda d: len(d.as_tuple().digits) <= 38))
def test_any_decimal_serialises_as_its_exact_value_in_plain_shortest_text(value: Decimal) -> None:
    text = serialize_decimal(value)
    assert Decimal(text) == value
    assert "e" not in text.lower()
    assert text != "-0"
    assert not ("." in text and text.endswith("0"))
    assert not text.endswith(".")


@given(
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**20) + 1, max_value=10**20 - 1, places=18),
    st.sampled_from(sorted(MINOR_UNITS)),
)
def test_stated_money_keeps_the_value_and_shows_at_least_the_currency_digits(amount: Decimal, currency: str) -> None:
    text = serialize_decimal(stated_money(amount, currency))
    shortest = serialize_decimal(amount)
    assert Decimal(text) == amount
    assert _fraction_digits(text) == max(MINOR_UNITS[currency], _fraction_digits(shortest))
    assert not text.startswith("-") or amount < 0


def test_the_widest_input_is_served_back_digit_for_digit() -> None:
    widest = Decimal("-12345678901234567890.123456789012345678")
    assert serialize_decimal(widest) == "-12345678901234567890.123456789012345678"
    assert serialize_decimal(stated_money(widest, "USD")) == "-12345678901234567890.123456789012345678"
    assert serialize_decimal(stated_money(Decimal("12345678901234567890"), "USD")) == "12345678901234567890.00"
