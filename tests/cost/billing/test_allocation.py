from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cost.billing.allocation import (
    CategoryRule,
    CostCategories,
    Match,
    SharedRule,
    SplitMethod,
    allocate,
    categorise,
    category_totals,
)
from cost.billing.errors import InvalidSharesError
from cost.billing.money import EXACT
from tests.plugins.billing_rows import row, table

S3 = "Amazon Simple Storage Service"


def team(name: str) -> dict[str, object]:
    return {"Tags": [("user:Team", name)]}


ROWS = [
    row("10", **team("web")),
    row("30", **team("data")),
    row("5", SubAccountId="999", **team("web")),  # matched by the account rule first
    row("1", ServiceName=S3),  # untagged S3 → shared
    row("1", ServiceName=S3, **team("web")),  # tagged: the web rule comes before the shared rule
    row("0.000000000000000001", ServiceName=S3),  # 1e-18: the smallest amount, still split exactly
    row("7", ServiceName="AWS Lambda"),  # nothing matches → default
]


def categories(method: SplitMethod, shares: dict[str, Decimal] | None = None) -> CostCategories:
    return CostCategories(
        rules=(
            CategoryRule("platform", Match(accounts={"999"})),
            CategoryRule("web", Match(tags={"user:Team": {"web", "frontend"}})),
            CategoryRule("data", Match(tags={"user:Team": {"data"}})),
            SharedRule("storage", ("web", "data", "platform"), method, Match(services={S3}), shares),
        ),
        default="unallocated",
    )


def test_first_matching_rule_wins_and_the_rest_is_default() -> None:
    chosen = categorise(table(ROWS), categories(SplitMethod.EVEN)).tolist()
    assert chosen == [1, 2, 0, 3, 1, 3, -1]


def test_even_split() -> None:
    result = allocate(table(ROWS), categories(SplitMethod.EVEN))
    assert result.direct == {
        "data": Decimal(30),
        "platform": Decimal(5),
        "unallocated": Decimal(7),
        "web": Decimal(11),
    }
    # pool 1.000000000000000001 / 3 = 0.333333333333333333|67 each; two quanta left: 0.33…334 to web and data
    # (equal remainders: earlier targets first), platform gets 0.333333333333333333
    assert result.pools == {"storage": Decimal("1.000000000000000001")}
    assert result.shared["web"] == Decimal("0.333333333333333334")
    assert result.shared["data"] == Decimal("0.333333333333333334")
    assert result.shared["platform"] == Decimal("0.333333333333333333")
    assert sum(result.totals.values(), Decimal(0)) == sum((r["BilledCost"] for r in ROWS), Decimal(0))


def test_proportional_split_follows_direct_cost() -> None:
    result = allocate(table(ROWS), categories(SplitMethod.PROPORTIONAL))
    # weights web 11, data 30, platform 5 (of 46); pool 1.000000000000000001:
    #   web  × 11/46 = 0.239130434782608695|89…, data × 30/46 = 0.652173913043478261|52…,
    #   platform × 5/46 = 0.108695652173913043|58…; floors sum to 0.999999999999999999, the two quanta
    #   left go to the largest remainders: web (.89) and platform (.58)
    assert result.shared == {
        "data": Decimal("0.652173913043478261"),
        "platform": Decimal("0.108695652173913044"),
        "unallocated": Decimal(0),
        "web": Decimal("0.239130434782608696"),
    }
    assert sum(result.shared.values(), Decimal(0)) == result.pools["storage"]


def test_fixed_split_and_its_validation() -> None:
    shares = {"web": Decimal(50), "data": Decimal("33.3"), "platform": Decimal("16.7")}
    totals = category_totals(table(ROWS), categories(SplitMethod.FIXED, shares))
    assert totals["web"] == Decimal(11) + Decimal("0.500000000000000001")
    assert sum(totals.values(), Decimal(0)) == Decimal("54.000000000000000001")
    with pytest.raises(InvalidSharesError):
        categories(SplitMethod.FIXED, {"web": Decimal(50), "data": Decimal(40), "platform": Decimal(9)})
    with pytest.raises(InvalidSharesError):
        categories(SplitMethod.FIXED, {"web": Decimal(100)})
    with pytest.raises(InvalidSharesError):
        categories(SplitMethod.EVEN, {"web": Decimal(100)})


@settings(max_examples=50, deadline=None)
@given(
    amounts=st.lists(
        st.tuples(
            st.decimals(min_value=-1000, max_value=1000, places=18),
            st.sampled_from(["web", "data", None]),
            st.sampled_from([S3, "AWS Lambda"]),
        ),
        max_size=15,
    ),
    method=st.sampled_from(list(SplitMethod)),
    cut=st.integers(min_value=0, max_value=100),
)
def test_allocation_always_sums_exactly(
    amounts: list[tuple[Decimal, str | None, str]], method: SplitMethod, cut: int
) -> None:
    shares = {"web": Decimal(cut), "data": Decimal(100 - cut), "platform": Decimal(0)}
    rows = [row(a, ServiceName=s, **(team(t) if t else {})) for a, t, s in amounts]
    result = allocate(table(rows), categories(method, shares if method is SplitMethod.FIXED else None))
    # Summed exactly: proportional shares of nearly cancelling weights reach 29 digits, past the default 28.
    with localcontext(EXACT):
        assert sum(result.totals.values(), Decimal(0)) == sum((a for a, _, _ in amounts), Decimal(0))
