from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cost.billing.groups import Assignment, BillingGroups
from cost.billing.invoice import InvoiceDraft, LineKind, compute_invoice
from cost.billing.money import ExchangeRates, Rounding, minor_units
from cost.billing.plans import (
    Adjustment,
    Base,
    CommitmentTreatment,
    CustomItem,
    ItemAmount,
    ItemKind,
    PlanVersion,
    Recurrence,
    Rule,
    Scope,
    TaxRule,
)
from tests.plugins.billing_rows import JAN_START, row, table

FX = ExchangeRates({"2024-01": {"JPY": Decimal("150"), "EUR": Decimal("0.9137"), "BHD": Decimal("0.376")}})
S3 = "Amazon Simple Storage Service"
EC2 = "Amazon Elastic Compute Cloud"


def invoice(rows: list[dict[str, object]], plan: PlanVersion, **kwargs: object) -> InvoiceDraft:
    options: dict[str, object] = {"tax": None, "custom_items": [], "billing_groups": None, "fx": FX}
    options.update(kwargs)
    return compute_invoice(
        table(rows),
        plan,
        options["billing_groups"],  # type: ignore[arg-type]
        options["fx"],  # type: ignore[arg-type]
        options["tax"],  # type: ignore[arg-type]
        options["custom_items"],  # type: ignore[arg-type]
        "2024-01",
        tenant_id="t",
    )


def test_jpy_has_no_minor_unit_and_rounds_per_line() -> None:
    rows = [row("1.23"), row("0.004", ServiceName=S3)]
    # EC2 1.23 USD × 150 = 184.5 JPY; S3 0.004 × 150 = 0.6 JPY
    up = invoice(rows, PlanVersion(id="p", currency="JPY"))
    assert [(x.service, x.amount) for x in up.lines] == [(EC2, Decimal("185")), (S3, Decimal("1"))]
    assert up.total == Decimal("186")
    even = invoice(rows, PlanVersion(id="p", currency="JPY", rounding=Rounding.HALF_EVEN))
    assert [x.amount for x in even.lines] == [Decimal("184"), Decimal("1")]
    assert str(even.total) == "185"


def test_usd_rounds_to_cents_half_up() -> None:
    # three EC2 rows sum exactly to 1.005 before rounding: one line, rounded once → 1.01
    draft = invoice([row("1"), row("0.004"), row("0.001")], PlanVersion(id="p"))
    assert [(x.kind, x.amount, x.quantity) for x in draft.lines] == [(LineKind.USAGE, Decimal("1.01"), Decimal(3))]


def test_percentage_fee_flat_credit_and_tax() -> None:
    plan = PlanVersion(id="p", rules=(Rule(Scope.GLOBAL, Adjustment.MARKUP, Decimal(10)),))
    items = [
        CustomItem("Management fee", ItemKind.FEE, ItemAmount.PERCENT, Decimal("2.5"), "2023-11", Recurrence.RECURRING),
        CustomItem("Welcome credit", ItemKind.CREDIT, ItemAmount.FLAT, Decimal("100"), "2024-01"),
        CustomItem("Loyalty credit", ItemKind.CREDIT, ItemAmount.PERCENT, Decimal("1"), "2024-01"),
        CustomItem("Old one-off", ItemKind.FEE, ItemAmount.FLAT, Decimal("999"), "2023-12"),
        CustomItem("Ended", ItemKind.FEE, ItemAmount.FLAT, Decimal("999"), "2023-01", Recurrence.RECURRING, "2023-12"),
    ]
    # usage 909.0909 × 1.10 = 999.99999 → 1000.00; fee 2.5 % = 25.00; credits −100.00 and −1 % = −10.00
    # subtotal 915.00; tax 8 % = 73.20; total 988.20
    draft = invoice([row("909.0909")], plan, custom_items=items, tax=TaxRule(Decimal(8)))
    assert [(x.kind, x.description, x.amount) for x in draft.lines] == [
        (LineKind.USAGE, "BoxUsage:m5.large", Decimal("1000.00")),
        (LineKind.FEE, "Management fee", Decimal("25.00")),
        (LineKind.CREDIT, "Welcome credit", Decimal("-100.00")),
        (LineKind.CREDIT, "Loyalty credit", Decimal("-10.00")),
        (LineKind.TAX, "Tax 8 %", Decimal("73.20")),
    ]
    assert (draft.subtotal, draft.tax, draft.total) == (Decimal("915.00"), Decimal("73.20"), Decimal("988.20"))
    # operator cost 909.09 (rounded once); margin = subtotal − cost
    assert (draft.operator_cost, draft.margin) == (Decimal("909.09"), Decimal("5.91"))


def test_tax_is_computed_once_on_the_rounded_subtotal() -> None:
    # lines 0.33 + 0.33 + 0.33 = 0.99; 7.5 % of 0.99 = 0.07425 → 0.07 (not 3 × 0.02475 → 3 × 0.02 = 0.06)
    rows = [row("0.333"), row("0.333", ServiceName=S3), row("0.333", ServiceName="AWS Lambda")]
    draft = invoice(rows, PlanVersion(id="p"), tax=TaxRule(Decimal("7.5")))
    assert (draft.subtotal, draft.tax, draft.total) == (Decimal("0.99"), Decimal("0.07"), Decimal("1.06"))


def test_corrections_and_pass_through_rows_get_their_own_lines() -> None:
    plan = PlanVersion(id="p", rules=(Rule(Scope.GLOBAL, Adjustment.MARKUP, Decimal(20)),))
    rows = [
        row("10"),
        row("5", ChargeClass="Correction"),
        row("1", line_item_type="Tax"),
        row("-2", line_item_type="Credit"),
    ]
    draft = invoice(rows, plan)
    assert [(x.kind, x.description, x.amount) for x in draft.lines] == [
        (LineKind.USAGE, "BoxUsage:m5.large", Decimal("12.00")),
        (LineKind.CORRECTION, f"Correction: {EC2}", Decimal("6.00")),
        (LineKind.CREDIT, "AWS credits and refunds", Decimal("-2.00")),
        (LineKind.TAX, "AWS tax (passed through)", Decimal("1.00")),  # no tax configured: passed through
    ]
    assert draft.total == Decimal("17.00")


def test_billing_groups_narrow_the_rows_to_the_tenant() -> None:
    groups = BillingGroups([Assignment("111111111111", "t", JAN_START), Assignment("555", "other", JAN_START)])
    draft = invoice([row("3"), row("4", SubAccountId="555")], PlanVersion(id="p"), billing_groups=groups)
    assert draft.total == Decimal("3.00")


# ---- property: lines always sum exactly to the total -------------------------------------------------------

LINE_TYPES = [
    "Usage",
    "Usage",
    "Tax",
    "Credit",
    "DiscountedUsage",
    "SavingsPlanCoveredUsage",
    "SavingsPlanNegation",
    "RIFee",
    "EdpDiscount",
]
money = st.decimals(min_value=-1000, max_value=10000, places=10)
random_rows = st.lists(
    st.builds(
        lambda cost, public, line_type, service, correction: row(
            cost,
            public_on_demand_cost=public,
            line_item_type=line_type,
            ServiceName=service,
            ChargeClass="Correction" if correction else None,
            reservation_arn="arn:ri" if line_type in ("DiscountedUsage", "RIFee") else None,
            savings_plan_arn="arn:sp" if line_type.startswith("SavingsPlan") else None,
            reservation_effective_cost=(cost / 2).quantize(Decimal("1e-12")),
            savings_plan_effective_cost=(cost / 3).quantize(Decimal("1e-12")),
        ),
        money,
        st.one_of(st.none(), money),
        st.sampled_from(LINE_TYPES),
        st.sampled_from([EC2, S3, "AWS Support (Business)", "AWS Marketplace X"]),
        st.booleans(),
    ),
    max_size=12,
)
random_plans = st.builds(
    lambda rules, treatment, currency, rounding: PlanVersion(
        id="p",
        rules=tuple(rules),
        commitments=treatment,
        assignments={"arn:ri": "t"} if treatment is CommitmentTreatment.ASSIGNED else {},
        currency=currency,
        rounding=rounding,
    ),
    st.lists(
        st.builds(
            Rule,
            st.just(Scope.SERVICE),
            st.sampled_from(list(Adjustment)),
            st.decimals(min_value=0, max_value=100, places=4),
            st.sampled_from([EC2, S3]),
            st.sampled_from(list(Base)),
        ),
        max_size=3,
    ),
    st.sampled_from(list(CommitmentTreatment)),
    st.sampled_from(["USD", "JPY", "EUR", "BHD"]),
    st.sampled_from(list(Rounding)),
)
random_items = st.lists(
    st.builds(
        CustomItem,
        st.just("item"),
        st.sampled_from(list(ItemKind)),
        st.sampled_from(list(ItemAmount)),
        st.decimals(min_value=0, max_value=500, places=4),
        st.just("2024-01"),
    ),
    max_size=3,
)


@settings(max_examples=60, deadline=None)
@given(
    rows=random_rows,
    plan=random_plans,
    items=random_items,
    rate=st.one_of(st.none(), st.decimals(min_value=0, max_value=30, places=3)),
)
def test_lines_sum_exactly_to_the_total(
    rows: list[dict[str, object]], plan: PlanVersion, items: list[CustomItem], rate: Decimal | None
) -> None:
    tax = None if rate is None else TaxRule(rate)
    draft = invoice(rows, plan, custom_items=items, tax=tax)
    amounts = [x.amount for x in draft.lines]
    assert sum(amounts, Decimal(0)) == draft.total
    assert draft.total == draft.subtotal + draft.tax
    assert sum((x.amount for x in draft.lines if x.kind is not LineKind.TAX), Decimal(0)) == draft.subtotal
    exponent = -minor_units(plan.currency)
    assert all(a == a.quantize(Decimal(1).scaleb(exponent)) for a in [*amounts, draft.operator_cost])
    assert draft.margin == draft.subtotal - draft.operator_cost


def test_an_unknown_invoice_currency_is_refused() -> None:
    from cost.billing.errors import UnknownCurrencyError

    with pytest.raises(UnknownCurrencyError):
        PlanVersion(id="p", currency="XXQ")
