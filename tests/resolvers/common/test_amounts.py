"""Exact decimal input and the balance-sheet check, without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from resolvers.common.amounts import parse_decimal
from resolvers.common.errors import InvalidInput
from resolvers.management.financials import LineInput, balance_problem, validated_lines


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", Decimal("0")),
        ("-1234.5", Decimal("-1234.5")),
        (" 12.3400 ", Decimal("12.34")),
        ("9999999999999999.9999", Decimal("9999999999999999.9999")),
        ("+7", Decimal("7")),
    ],
)
def test_decimal_strings_are_read_exactly(text: str, expected: Decimal) -> None:
    assert parse_decimal(text, "amount", scale=4, digits=16) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e3", "is not a decimal number"),
        ("NaN", "is not a decimal number"),
        ("1,000", "is not a decimal number"),
        ("", "is not a decimal number"),
        ("0.00001", "5 decimal places; at most 4"),
        ("10000000000000000", "at most 16 digits before the decimal point"),
    ],
)
def test_other_strings_are_refused_with_the_field(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as raised:
        parse_decimal(text, "lines[2].amount", scale=4, digits=16)
    assert raised.value.field == "lines[2].amount"


def test_balance_is_checked_only_when_all_three_totals_are_present() -> None:
    assert balance_problem({"total_assets": Decimal(10), "total_liabilities": Decimal(3)}) is None
    assert (
        balance_problem({"total_assets": Decimal(10), "total_liabilities": Decimal(3), "total_equity": Decimal(7)})
        is None
    )
    short = balance_problem(
        {"total_assets": Decimal("9.5"), "total_liabilities": Decimal(3), "total_equity": Decimal(7)}
    )
    assert short is not None
    assert short.endswith("off by 0.5 (liabilities plus equity exceed assets)")


def test_line_keys_must_be_unique_and_well_formed() -> None:
    with pytest.raises(InvalidInput) as raised:
        validated_lines([LineInput("Revenue", "1")])
    assert raised.value.field == "lines[0].key"
    rows = validated_lines([LineInput("a", "1"), LineInput("b", "2", position=7)])
    assert [row["position"] for row in rows] == [0, 7]
