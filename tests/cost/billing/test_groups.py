from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cost.billing.errors import OverlappingAssignmentError
from cost.billing.groups import Assignment, BillingGroups, rows_for_tenant, split_by_tenant
from cost.columns import DECIMAL_COLUMNS
from tests.plugins.billing_rows import row, table

JAN = datetime(2024, 1, 1, tzinfo=UTC)
FEB = datetime(2024, 2, 1, tzinfo=UTC)
MOVE = datetime(2024, 1, 15, 12, tzinfo=UTC)  # 14.5 days = 348 h after JAN; 396 h before FEB
ACCOUNT = "222233334444"


def moving_account() -> BillingGroups:
    return BillingGroups([Assignment(ACCOUNT, "tenant-a", JAN, MOVE), Assignment(ACCOUNT, "tenant-b", MOVE, None)])


def total(t: pa.Table, column: str = "BilledCost") -> Decimal:
    return pc.sum(t.column(column)).as_py() or Decimal(0)


def test_account_moving_mid_period_is_split_by_hours() -> None:
    rows = table(
        [
            # hourly rows on either side of the move go wholly to one tenant
            row("2", SubAccountId=ACCOUNT, ChargePeriodStart=MOVE - timedelta(hours=1), ChargePeriodEnd=MOVE),
            row("3", SubAccountId=ACCOUNT, ChargePeriodStart=MOVE, ChargePeriodEnd=MOVE + timedelta(hours=1)),
            # a monthly charge (744 h) spans the move: A gets 348/744, B 396/744 of every money column
            row("100", SubAccountId=ACCOUNT, ChargePeriodStart=JAN, ChargePeriodEnd=FEB),
        ]
    )
    split = split_by_tenant(rows, moving_account())
    a, b = split.by_tenant["tenant-a"], split.by_tenant["tenant-b"]
    # 100 × 348/744 = 46.77419354838709677419…, 100 × 396/744 = 53.22580645161290322580…; floored at 10^-18
    # they sum to 99.999999999999999999; the one quantum left goes to the larger fraction (B's .806 > A's .194)
    assert total(a) == Decimal("2") + Decimal("46.774193548387096774")
    assert total(b) == Decimal("3") + Decimal("53.225806451612903226")
    assert total(a) + total(b) == Decimal("105")
    assert split.unassigned.num_rows == 0
    monthly_a = a.filter(pc.equal(a.column("ChargePeriodEnd"), pa.scalar(MOVE, a.schema.field("ChargePeriodEnd").type)))
    assert monthly_a.num_rows == 2  # the hourly row ending at MOVE and the clipped monthly part
    assert rows_for_tenant(rows, moving_account(), "tenant-b").num_rows == 2


def test_uncovered_hours_and_unknown_accounts_are_unassigned() -> None:
    groups = BillingGroups([Assignment(ACCOUNT, "tenant-a", MOVE, None)])
    rows = table(
        [
            row("744", SubAccountId=ACCOUNT, ChargePeriodStart=JAN, ChargePeriodEnd=FEB),
            row("5", SubAccountId="000000000000"),
        ]
    )
    split = split_by_tenant(rows, groups)
    assert total(split.by_tenant["tenant-a"]) == Decimal("396")
    assert total(split.unassigned) == Decimal("348") + Decimal("5")


def test_overlapping_assignments_are_refused() -> None:
    with pytest.raises(OverlappingAssignmentError):
        BillingGroups([Assignment(ACCOUNT, "a", JAN, FEB), Assignment(ACCOUNT, "b", MOVE, None)])


@settings(max_examples=40, deadline=None)
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=743), min_size=1, max_size=4, unique=True),
    amounts=st.lists(st.decimals(min_value=-1000, max_value=1000, places=10), min_size=1, max_size=6),
    spans=st.lists(st.tuples(st.integers(0, 743), st.integers(1, 744)), min_size=6, max_size=6),
)
def test_split_preserves_every_money_column_exactly(
    cuts: list[int], amounts: list[Decimal], spans: list[tuple[int, int]]
) -> None:
    bounds = [JAN, *(JAN + timedelta(hours=h) for h in sorted(cuts)), None]
    groups = BillingGroups(
        Assignment(ACCOUNT, f"t{i % 2}", lo, hi) for i, (lo, hi) in enumerate(itertools.pairwise(bounds))
    )
    rows = table(
        row(
            a,
            SubAccountId=ACCOUNT,
            ChargePeriodStart=JAN + timedelta(hours=s),
            ChargePeriodEnd=JAN + timedelta(hours=min(744, s + d)),
            public_on_demand_cost=a * 3,
        )
        for a, (s, d) in zip(amounts, spans, strict=False)
    )
    split = split_by_tenant(rows, groups)
    parts = [*split.by_tenant.values(), split.unassigned]
    for column in DECIMAL_COLUMNS:
        assert sum((total(p, column) for p in parts), Decimal(0)) == total(rows, column)
