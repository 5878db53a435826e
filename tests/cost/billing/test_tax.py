from __future__ import annotations

from decimal import Decimal

import pytest

from cost.billing.errors import InvalidPlanError
from cost.billing.invoice import InvoiceDraft, LineKind, compute_invoice
from cost.billing.money import ExchangeRates
from cost.billing.plans import Adjustment, CustomItem, ItemAmount, ItemKind, PlanVersion, Rule, Scope
from cost.billing.tax import ProviderTax, TaxPolicy, TaxRate, TaxRounding, valid_registration_number
from tests.plugins.billing_rows import row, table

FX = ExchangeRates({"2024-01": {"JPY": Decimal("150")}})
EC2 = "Amazon Elastic Compute Cloud"
S3 = "Amazon Simple Storage Service"
MARKUP = PlanVersion(id="p", rules=(Rule(Scope.GLOBAL, Adjustment.MARKUP, Decimal(10)),))
JP_RATES = (
    TaxRate("standard", Decimal(8), "消費税", valid_from="2014-04"),
    TaxRate("standard", Decimal(10), "消費税", valid_from="2019-10"),
    TaxRate("reduced", Decimal(8), "消費税", valid_from="2019-10", reduced=True),
)


def draft(
    rows: list[dict[str, object]],
    policy: TaxPolicy | None,
    plan: PlanVersion = MARKUP,
    items: tuple[CustomItem, ...] = (),
) -> InvoiceDraft:
    return compute_invoice(table(rows), plan, None, FX, policy, items, "2024-01", tenant_id="t")


AWS_TAX = {"line_item_type": "Tax", "ServiceName": EC2, "usage_type": None, "PricingQuantity": Decimal("2767.022177")}


def test_provider_tax_is_replaced_by_the_operators_tax_by_default() -> None:
    policy = TaxPolicy(rates=(TaxRate("standard", Decimal(10)),))
    result = draft([row("100"), row("10", **AWS_TAX)], policy)
    assert [(x.kind, x.amount) for x in result.lines] == [
        (LineKind.USAGE, Decimal("110.00")),
        (LineKind.TAX, Decimal("11.00")),  # 10 % of the reseller's own supply only
    ]
    assert result.operator_cost == Decimal("110.00")  # the operator paid the AWS tax: it is its cost


def test_passed_through_provider_tax_is_not_taxed_again() -> None:
    policy = TaxPolicy(rates=(TaxRate("standard", Decimal(10)),), provider_tax=ProviderTax.PASS_THROUGH)
    result = draft([row("100"), row("10", **AWS_TAX)], policy)
    assert [(x.kind, x.description, x.amount, x.quantity, x.tax_category) for x in result.lines] == [
        (LineKind.USAGE, "BoxUsage:m5.large", Decimal("110.00"), Decimal(1), "standard"),
        (LineKind.TAX, "Tax 10 %", Decimal("11.00"), None, "standard"),
        (LineKind.TAX, "AWS tax (passed through)", Decimal("10.00"), None, None),  # no markup, no tax on tax
    ]
    assert (result.subtotal, result.tax, result.total) == (Decimal("110.00"), Decimal("21.00"), Decimal("131.00"))
    assert [(b.taxable, b.tax) for b in result.tax_breakdown] == [(Decimal("110.00"), Decimal("11.00"))]


def test_provider_tax_billed_as_cost_is_taxed_like_usage() -> None:
    policy = TaxPolicy(rates=(TaxRate("standard", Decimal(10)),), provider_tax=ProviderTax.BILL_AS_COST)
    result = draft([row("100"), row("10", **AWS_TAX)], policy)
    assert [(x.kind, x.description, x.amount, x.quantity) for x in result.lines] == [
        (LineKind.USAGE, "AWS tax (billed as cost)", Decimal("10.00"), None),
        (LineKind.USAGE, "BoxUsage:m5.large", Decimal("110.00"), Decimal(1)),
        (LineKind.TAX, "Tax 10 %", Decimal("12.00"), None),
    ]


def test_japan_rounds_once_per_invoice_and_rate_not_per_line() -> None:
    # three lines of 0.99 USD × 150 = 148.5 → 149 JPY each; 10 % of 447 = 44.7 → 45 (per line: 3 × 15 = 45…)
    # choose amounts where they differ: 1.03 USD → 154.5 → 155 JPY; 10 % = 15.5 → 16 per line (48), 46.5 → 47
    rows = [row("1.03", usage_type=u) for u in ("A", "B", "C")]
    jp = PlanVersion(id="p", currency="JPY")
    once = draft(rows, TaxPolicy(rates=JP_RATES, jurisdiction="JP"), jp)
    assert [x.amount for x in once.lines if x.kind is LineKind.USAGE] == [Decimal(155)] * 3
    assert once.tax == Decimal(47)
    per_line = draft(rows, TaxPolicy(rates=JP_RATES, rounding=TaxRounding.PER_LINE), jp)
    assert per_line.tax == Decimal(48)
    with pytest.raises(InvalidPlanError, match="JP requires"):
        TaxPolicy(rates=JP_RATES, jurisdiction="JP", rounding=TaxRounding.PER_LINE)


def test_rates_by_category_and_effective_date_with_reduced_items_marked() -> None:
    items = (CustomItem("Catering", ItemKind.FEE, ItemAmount.FLAT, Decimal(1000), "2024-01", tax_category="reduced"),)
    jp = PlanVersion(id="p", currency="JPY")
    result = draft([row("10")], TaxPolicy(rates=JP_RATES, jurisdiction="JP"), jp, items)
    assert [(b.rate_percent, b.reduced, b.taxable, b.tax) for b in result.tax_breakdown] == [
        (Decimal(10), False, Decimal(1500), Decimal(150)),  # the 2019-10 rate replaced the 2014-04 one
        (Decimal(8), True, Decimal(1000), Decimal(80)),
    ]
    assert [x.description for x in result.lines if x.kind is LineKind.TAX] == ["消費税 10 %", "消費税 8 %"]
    assert result.total == Decimal(2730)


def test_reverse_charge_bills_no_tax() -> None:
    result = draft([row("100")], TaxPolicy(rates=(TaxRate("standard", Decimal(19)),), reverse_charge=True))
    assert result.tax == Decimal(0)
    assert [(b.rate_percent, b.taxable, b.tax) for b in result.tax_breakdown] == [
        (Decimal(19), Decimal("110.00"), Decimal(0))
    ]
    assert all(x.kind is not LineKind.TAX for x in result.lines)


def test_lines_group_by_service_then_usage_type_each_with_its_own_unit() -> None:
    rows = [
        row("1", usage_type="BoxUsage:m5.large", PricingUnit="Hrs", PricingQuantity=Decimal(10)),
        row("2", usage_type="BoxUsage:m5.large", PricingUnit="Hrs", PricingQuantity=Decimal(5)),
        row("3", usage_type="EBS:VolumeUsage.gp3", PricingUnit="GB-Mo", PricingQuantity=Decimal("0.5")),
        row("4", ServiceName=S3, usage_type="TimedStorage-ByteHrs", PricingUnit="GB-Mo", PricingQuantity=Decimal(7)),
        row("-1", line_item_type="Credit", PricingQuantity=Decimal(3)),
    ]
    items = (CustomItem("Support fee", ItemKind.FEE, ItemAmount.FLAT, Decimal(5), "2024-01"),)
    result = draft(rows, TaxPolicy(rates=(TaxRate("standard", Decimal(10)),)), items=items)
    assert [(x.kind, x.service, x.description, x.quantity, x.unit) for x in result.lines] == [
        (LineKind.USAGE, EC2, "BoxUsage:m5.large", Decimal(15), "Hrs"),
        (LineKind.USAGE, EC2, "EBS:VolumeUsage.gp3", Decimal("0.5"), "GB-Mo"),
        (LineKind.USAGE, S3, "TimedStorage-ByteHrs", Decimal(7), "GB-Mo"),
        (LineKind.CREDIT, EC2, "AWS credits and refunds", None, None),
        (LineKind.FEE, None, "Support fee", None, None),
        (LineKind.TAX, None, "Tax 10 %", None, None),
    ]


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("T7000012050002", True),  # 国税庁 (the National Tax Agency's own corporate number)
        ("T4010001008830", True),
        ("T7000012050003", False),  # check digit off by one
        ("T700001205000", False),  # 12 digits
        ("7000012050002", False),  # no T
        ("t7000012050002", False),
        ("T70000120500０2", False),  # a full-width digit
    ],
)
def test_registration_numbers_are_t_and_13_digits_with_the_check_digit(number: str, valid: bool) -> None:
    assert valid_registration_number(number) is valid
