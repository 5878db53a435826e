from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from cost.amortisation import effective_cost
from cost.columns import MONEY
from cost.values import coalesce, nulls, zero_if_null, zeros

TEXT = pa.array(["a", "b", "c"])
GAPS = pa.array([None, "y", None])
NONE = pa.nulls(3, pa.string())


@pytest.mark.parametrize(
    "arrays",
    [
        (TEXT, GAPS),
        (GAPS, TEXT),
        (NONE, GAPS),
        (NONE, NONE),
        (GAPS, NONE, TEXT),
        (NONE, TEXT, GAPS),
        (pa.array([], pa.string()), pa.array([], pa.string())),
    ],
)
def test_coalesce_is_arrows_coalesce(arrays: tuple[pa.Array, ...]) -> None:
    result = coalesce(*arrays)
    assert result.type == pa.string()
    assert result.to_pylist() == pc.coalesce(*arrays).to_pylist()


def test_coalesce_returns_a_first_array_without_nulls_as_it_is() -> None:
    assert coalesce(TEXT, GAPS).buffers()[2].address == TEXT.buffers()[2].address
    assert coalesce(NONE, TEXT).buffers()[2].address == TEXT.buffers()[2].address


def test_coalesce_of_different_types_is_left_to_arrow() -> None:
    result = coalesce(pa.array([None, 2], pa.int32()), pa.array([1, 3], pa.int64()))
    assert result.type == pa.int64()
    assert result.to_pylist() == [1, 2]


def test_shared_nulls_and_zeros_are_what_they_say() -> None:
    assert nulls(4, MONEY).to_pylist() == [None] * 4
    assert nulls(4, MONEY).type == MONEY
    assert nulls(4, pa.string()).type == pa.string()
    assert zeros(3).to_pylist() == [Decimal(0)] * 3
    assert zeros(3).type == MONEY
    money = pa.array([Decimal("1.5"), None], MONEY)
    assert zero_if_null(money).to_pylist() == [Decimal("1.5"), Decimal(0)]
    assert zero_if_null(nulls(2, MONEY)).to_pylist() == [Decimal(0)] * 2
    assert zero_if_null(pa.array([None, 2])).to_pylist() == [0, 2]


def _money(*values: str | None) -> pa.Array:
    return pa.array([None if v is None else Decimal(v) for v in values], MONEY)


def test_effective_cost_when_a_file_lacks_the_savings_plan_and_ri_amounts() -> None:
    types = pa.array(["Usage", "SavingsPlanRecurringFee", "RIFee", "SavingsPlanCoveredUsage", "DiscountedUsage"])
    absent = nulls(5, MONEY)
    cost = effective_cost(
        line_item_type=types,
        unblended=_money("1", "2", "3", "4", "5"),
        sp_effective=absent,
        sp_total_commitment=absent,
        sp_used_commitment=absent,
        ri_effective=absent,
        ri_unused_upfront=absent,
        ri_unused_recurring=absent,
        reservation_arn=nulls(5, pa.string()),
    )
    assert cost.type == MONEY
    assert cost.to_pylist() == [Decimal(x) for x in ("1", "0", "0", "0", "0")]


def test_effective_cost_with_one_operand_of_a_fee() -> None:
    types = pa.array(["SavingsPlanRecurringFee", "RIFee"])
    cost = effective_cost(
        line_item_type=types,
        unblended=_money("9", "9"),
        sp_effective=nulls(2, MONEY),
        sp_total_commitment=_money("10", None),
        sp_used_commitment=nulls(2, MONEY),
        ri_effective=nulls(2, MONEY),
        ri_unused_upfront=nulls(2, MONEY),
        ri_unused_recurring=_money(None, "0.25"),
        reservation_arn=pa.array([None, "arn:ri"]),
    )
    assert cost.to_pylist() == [Decimal("10"), Decimal("0.25")]
