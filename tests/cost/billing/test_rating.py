from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from cost.billing.plans import Adjustment, Base, Exclusions, PlanVersion, Rule, Scope
from cost.billing.rating import Role, operator_cost, rate
from cost.columns import SCHEMA
from cost.readers import Reader
from tests.plugins.billing_rows import row, table
from tests.plugins.cost_files import shared_file

PASS_THROUGH = PlanVersion(id="plain")


def billed_by_account(rows: pa.Table, plan: PlanVersion) -> dict[str | None, Decimal]:
    out: dict[str | None, Decimal] = defaultdict(Decimal)
    for g in rate(rows, plan, tenant_id="t"):
        out[g.account] += g.billed
    return dict(out)


def net_by_account(rows: pa.Table) -> dict[str | None, Decimal]:
    out: dict[str | None, Decimal] = defaultdict(Decimal)
    for r in rows.select(["SubAccountId", "net_unblended_cost", "unblended_cost"]).to_pylist():
        value = r["net_unblended_cost"] if r["net_unblended_cost"] is not None else r["unblended_cost"]
        out[r["SubAccountId"]] += value or Decimal(0)
    return dict(out)


def test_no_rules_and_pass_through_bill_the_net_unblended_cost_of_each_account() -> None:
    rows = table(
        [
            row("10.123456789", SubAccountId="a1"),
            # net unblended below unblended (EDP folded in); the discount line itself nets to 0
            row("5.5", SubAccountId="a1", net_unblended_cost=Decimal("4.95"), ServiceName="Amazon S3"),
            row("-0.55", SubAccountId="a1", line_item_type="EdpDiscount", net_unblended_cost=Decimal(0)),
            row("0.42", SubAccountId="a1", line_item_type="Tax"),
            row("-3", SubAccountId="a2", line_item_type="Credit"),
            row("7.000000000001", SubAccountId="a2", ServiceName="AWS Support (Business)"),
            row("2.5E-7", SubAccountId="a2", ServiceName="AWS Marketplace: SomeVendor"),
            row("1", SubAccountId="a3", line_item_type="Fee", ServiceName="AWS Premium Support"),
        ]
    )
    assert billed_by_account(rows, PASS_THROUGH) == net_by_account(rows)


def test_no_rules_and_pass_through_reproduce_the_sample_cur_per_account() -> None:
    path = shared_file("cur/legacy-cur-anonymized-sample.csv")
    expected: dict[str | None, Decimal] = defaultdict(Decimal)
    with path.open(newline="") as handle:
        for raw in csv.DictReader(handle):
            net = raw.get("lineItem/NetUnblendedCost") or raw["lineItem/UnblendedCost"] or "0"
            expected[raw["lineItem/UsageAccountId"]] += Decimal(net)
    rows = pa.Table.from_batches(list(Reader(str(path))), schema=SCHEMA)
    assert billed_by_account(rows, PASS_THROUGH) == dict(expected)
    # and the operator's cost equals it: margin 0
    assert pc.sum(operator_cost(rows)).as_py() == sum(expected.values(), Decimal(0))


SERVICES = ["svc-a", "svc-b"]
USAGE_TYPES = ["ut-a", "ut-b"]
SKUS = ["sku-a", "sku-b"]
rules = st.builds(
    lambda scope, pool, adjustment, percent, base: Rule(
        scope=scope,
        value=None if scope is Scope.GLOBAL else pool[scope],
        adjustment=adjustment,
        percent=percent,
        base=base,
    ),
    st.sampled_from(list(Scope)),
    st.fixed_dictionaries(
        {
            Scope.SERVICE: st.sampled_from(SERVICES),
            Scope.USAGE_TYPE: st.sampled_from(USAGE_TYPES),
            Scope.SKU: st.sampled_from(SKUS),
        }
    ),
    st.sampled_from(list(Adjustment)),
    st.decimals(min_value=0, max_value=100, places=3),
    st.sampled_from(list(Base)),
)


def expected_rule(rule_set: list[Rule], service: str, usage_type: str, sku: str) -> Rule | None:
    """The specification, independently of the index the plan uses."""
    value_of = {Scope.GLOBAL: None, Scope.SERVICE: service, Scope.USAGE_TYPE: usage_type, Scope.SKU: sku}
    rank = {Scope.GLOBAL: 0, Scope.SERVICE: 1, Scope.USAGE_TYPE: 2, Scope.SKU: 3}
    matching = [r for r in rule_set if r.value == value_of[r.scope]]
    if not matching:
        return None
    best = max(rank[r.scope] for r in matching)
    return next(r for r in matching if rank[r.scope] == best)


@settings(max_examples=80, deadline=None)
@given(
    rule_set=st.lists(rules, max_size=8),
    service=st.sampled_from(SERVICES),
    usage_type=st.sampled_from(USAGE_TYPES),
    sku=st.sampled_from(SKUS),
    cost=st.decimals(min_value=-100, max_value=1000, places=10),
    public=st.decimals(min_value=0, max_value=1000, places=10),
)
def test_the_most_specific_rule_wins(
    rule_set: list[Rule], service: str, usage_type: str, sku: str, cost: Decimal, public: Decimal
) -> None:
    plan = PlanVersion(id="p", rules=tuple(rule_set))
    rows = table([row(cost, ServiceName=service, usage_type=usage_type, SkuId=sku, public_on_demand_cost=public)])
    (group,) = rate(rows, plan, tenant_id="t")
    want = expected_rule(rule_set, service, usage_type, sku)
    assert group.rule is want
    if want is None:
        assert group.billed == cost
    else:
        base = public if want.base is Base.PUBLIC_ON_DEMAND else cost
        percent = want.percent if want.adjustment is Adjustment.MARKUP else -want.percent
        assert group.billed == base + base * percent / 100


EXCLUDED_ROWS = [
    ({"line_item_type": "Tax"}, Role.TAX),
    ({"line_item_type": None, "ChargeCategory": "Tax"}, Role.TAX),
    ({"line_item_type": "Credit"}, Role.CREDIT),
    ({"line_item_type": "Refund"}, Role.CREDIT),
    ({"line_item_type": None, "ChargeCategory": "Credit"}, Role.CREDIT),
    ({"ServiceName": "AWS Support (Enterprise)"}, Role.SUPPORT),
    ({"ServiceName": "AWS Marketplace Listing X"}, Role.MARKETPLACE),
    ({"ServiceName": "svc-excluded"}, Role.EXCLUDED),
]


@settings(max_examples=60, deadline=None)
@given(
    rule_set=st.lists(rules, min_size=1, max_size=6),
    picks=st.lists(
        st.tuples(st.sampled_from(EXCLUDED_ROWS), st.decimals(min_value=-500, max_value=500, places=12)),
        min_size=1,
        max_size=8,
    ),
)
def test_excluded_rows_are_billed_at_exactly_their_cost(
    rule_set: list[Rule], picks: list[tuple[tuple[dict[str, object], Role], Decimal]]
) -> None:
    # Rules are made to match everything they could: a GLOBAL markup is always present.
    plan = PlanVersion(
        id="p",
        rules=(*rule_set, Rule(Scope.GLOBAL, Adjustment.MARKUP, Decimal(50))),
        exclusions=Exclusions(services=frozenset({"svc-excluded"})),
    )
    rows = table(row(cost, public_on_demand_cost=cost * 2, **fields) for (fields, _), cost in picks)
    groups = rate(rows, plan, tenant_id="t")
    assert {g.role for g in groups} == {role for (_, role), _ in picks}
    for g in groups:
        assert g.rule is None
        assert g.billed == g.cost
    assert sum((g.billed for g in groups), Decimal(0)) == sum((c for _, c in picks), Decimal(0))


def test_exclusions_can_be_switched_off_per_plan() -> None:
    plan = PlanVersion(
        id="p",
        rules=(Rule(Scope.GLOBAL, Adjustment.MARKUP, Decimal(10)),),
        exclusions=Exclusions(support=False),
    )
    (group,) = rate(table([row("100", ServiceName="AWS Support (Business)")]), plan, tenant_id="t")
    assert group.role is Role.USAGE
    assert group.billed == Decimal("110")


def test_discount_lines_are_not_billed_on_a_public_price_base() -> None:
    plan = PlanVersion(id="p", rules=(Rule(Scope.GLOBAL, Adjustment.DISCOUNT, Decimal(5), base=Base.PUBLIC_ON_DEMAND),))
    rows = table(
        [
            row("8", public_on_demand_cost=Decimal("10")),
            row("-1", line_item_type="EdpDiscount", public_on_demand_cost=None),
        ]
    )
    billed = {g.role: g.billed for g in rate(rows, plan, tenant_id="t")}
    assert billed == {Role.USAGE: Decimal("9.5"), Role.DISCOUNT: Decimal(0)}
