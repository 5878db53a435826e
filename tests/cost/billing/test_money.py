from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cost.billing.errors import MissingExchangeRateError, UnknownCurrencyError
from cost.billing.money import ExchangeRates, Rounding, minor_units, round_money, split_exact


def test_minor_units_of_common_currencies() -> None:
    assert (minor_units("JPY"), minor_units("USD"), minor_units("EUR"), minor_units("BHD")) == (0, 2, 2, 3)
    with pytest.raises(UnknownCurrencyError):
        minor_units("XYZ")


@pytest.mark.parametrize(
    ("amount", "currency", "mode", "expected"),
    [
        ("184.5", "JPY", Rounding.HALF_UP, "185"),
        ("184.5", "JPY", Rounding.HALF_EVEN, "184"),
        ("183.5", "JPY", Rounding.HALF_EVEN, "184"),
        ("1.005", "USD", Rounding.HALF_UP, "1.01"),
        ("1.005", "USD", Rounding.HALF_EVEN, "1.00"),
        ("-0.004", "USD", Rounding.HALF_UP, "0.00"),
        ("-2.5", "JPY", Rounding.HALF_UP, "-3"),
    ],
)
def test_round_money(amount: str, currency: str, mode: Rounding, expected: str) -> None:
    rounded = round_money(Decimal(amount), currency, mode)
    assert str(rounded) == expected


def test_exchange_rates_convert_both_ways_and_cross() -> None:
    fx = ExchangeRates({"2024-01": {"JPY": Decimal("150"), "EUR": Decimal("0.5")}})
    assert fx.convert(Decimal("2"), "USD", "JPY", "2024-01") == Decimal("300")
    assert fx.convert(Decimal("300"), "JPY", "USD", "2024-01") == Decimal("2")
    assert fx.convert(Decimal("1"), "EUR", "JPY", "2024-01") == Decimal("300")
    assert fx.convert(Decimal("7"), "JPY", "JPY", "2024-02") == Decimal("7")
    with pytest.raises(MissingExchangeRateError):
        fx.convert(Decimal("1"), "USD", "JPY", "2024-02")


def test_split_exact_gives_remainders_to_largest_fractions_then_earliest() -> None:
    assert split_exact(Decimal("1.00"), [1, 1, 1], Decimal("0.01")) == [
        Decimal("0.34"),
        Decimal("0.33"),
        Decimal("0.33"),
    ]
    assert split_exact(Decimal("1.00"), [1, 2], Decimal("0.01")) == [Decimal("0.33"), Decimal("0.67")]
    assert split_exact(Decimal("-1.00"), [1, 1, 1], Decimal("0.01")) == [
        Decimal("-0.33"),
        Decimal("-0.33"),
        Decimal("-0.34"),
    ]
    assert split_exact(Decimal("0.05"), [0, 0], Decimal("0.01")) == [Decimal("0.03"), Decimal("0.02")]


@given(
    total=st.decimals(min_value=-(10**6), max_value=10**6, places=18),
    weights=st.lists(st.decimals(min_value=0, max_value=1000, places=4), min_size=1, max_size=8),
)
def test_split_exact_always_sums_to_the_total(total: Decimal, weights: list[Decimal]) -> None:
    parts = split_exact(total, weights)
    assert sum(parts, Decimal(0)) == total
    assert all(p.as_tuple().exponent >= -18 for p in parts)  # type: ignore[operator]
