from __future__ import annotations

import re
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cost.columns import MONEY
from cost.decimals import parse_exact, to_money
from cost.errors import InvalidNumberError

# Every value the schema can hold: ≤ 18 fractional digits, < 10^20 in magnitude.
money_values = st.builds(
    lambda units, scale: Decimal(units).scaleb(-scale),
    st.integers(min_value=-(10**20) + 1, max_value=10**20 - 1),
    st.integers(min_value=0, max_value=18),
).filter(lambda d: abs(d) < Decimal(10) ** 20)


def _exponent_text(value: Decimal, style: int, digits: int) -> str:
    if style == 0:
        return f"{value:E}"
    if style == 1:
        return re.sub(r"e([+-])0*(\d)", r"e\1\2", f"{value:e}")
    sign, coefficient, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    mantissa = "".join(map(str, coefficient)) + "0" * digits
    return f"{'-' if sign else ''}{mantissa}E{exponent - digits}"


@settings(database=None, max_examples=300)
@given(money_values, st.integers(0, 2), st.integers(0, 3))
def test_exponent_notation_parses_exactly(value: Decimal, style: int, digits: int) -> None:
    text = _exponent_text(value, style, digits)
    assert Decimal(text) == value
    parsed = to_money(pa.array([text]), file="f", column="c", first_row=1)
    assert parsed.type == MONEY
    assert parsed[0].as_py() == value
    assert parse_exact(text) == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9.984E-7", "0.0000009984"),
        ("1.2e+3", "1200"),
        ("1.81E-8", "0.0000000181"),
        ("-3.5", "-3.5"),
        ("1e-18", "0.000000000000000001"),
        ("0.100000000000000000000", "0.1"),
    ],
)
def test_known_values(text: str, expected: str) -> None:
    assert to_money(pa.array([text]), file="f", column="c", first_row=1)[0].as_py() == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", "not a number"),
        ("1e-19", "more than 18 fractional digits"),
        ("1e20", "integer digits"),
        ("0.0000000000000000001", "more than 18 fractional digits"),
        ("NaN", "not a finite number"),
    ],
)
def test_rejects_with_row_and_column(text: str, reason: str) -> None:
    with pytest.raises(InvalidNumberError) as caught:
        to_money(pa.array(["1", None, text]), file="cur.csv", column="lineItem/UnblendedCost", first_row=41)
    error = caught.value
    assert (error.file, error.row, error.column) == ("cur.csv", 43, "lineItem/UnblendedCost")
    assert reason in error.reason
    assert "cur.csv, row 43, column 'lineItem/UnblendedCost'" in str(error)


def test_doubles_go_through_their_shortest_text() -> None:
    values = to_money(pa.array([0.1, 1.81e-8, None]), file="f", column="c", first_row=1).to_pylist()
    assert values == [Decimal("0.1"), Decimal("1.81E-8"), None]
