"""Worked RI / Savings Plan examples; every number is written out by hand."""

from __future__ import annotations

from decimal import Decimal

from cost.billing.invoice import compute_invoice
from cost.billing.money import ExchangeRates
from cost.billing.plans import CommitmentTreatment, PlanVersion
from cost.billing.rating import rate
from tests.plugins.billing_rows import row, table

RI = "arn:aws:ec2:us-east-1:999988887777:reserved-instances/ri-1"
SP = "arn:aws:savingsplans::999988887777:savingsplan/sp-1"
EC2 = "Amazon Elastic Compute Cloud"


def ri_covered(account: str) -> dict[str, object]:
    # 10 hours of m5.large covered by RI ri-1 (a partial-upfront RI floats across the payer's accounts):
    # public on-demand 10 h × 0.096 = 0.96; the RI's effective rate 0.06/h → reservation_effective_cost 0.60;
    # the CUR's unblended cost of a DiscountedUsage row is 0 (its cost sits on the RIFee row).
    return row(
        "0",
        SubAccountId=account,
        line_item_type="DiscountedUsage",
        PricingQuantity=Decimal(10),
        public_on_demand_cost=Decimal("0.96"),
        reservation_arn=RI,
        reservation_effective_cost=Decimal("0.60"),
        EffectiveCost=Decimal("0.60"),
    )


def billed(rows: list[dict[str, object]], plan: PlanVersion, tenant: str) -> Decimal:
    return sum((g.billed for g in rate(table(rows), plan, tenant_id=tenant)), Decimal(0))


def test_an_assigned_reservation_benefits_only_its_tenant() -> None:
    plan = PlanVersion(id="assigned", commitments=CommitmentTreatment.ASSIGNED, assignments={RI: "tenant-a"})
    # The RIFee row of ri-1 (in A's account): unblended 1.00 for the month's recurring fee, of which the
    # unused part is 0.12 (EffectiveCost per the CID formula: unused upfront + unused recurring).
    ri_fee = row(
        "1.00",
        SubAccountId="a",
        line_item_type="RIFee",
        reservation_arn=RI,
        EffectiveCost=Decimal("0.12"),
        net_unblended_cost=Decimal("1.00"),
        public_on_demand_cost=None,
    )
    # A: covered usage at the effective cost 0.60 + the unused commitment 0.12 = 0.72
    assert billed([ri_covered("a"), ri_fee], plan, "tenant-a") == Decimal("0.72")
    # B's usage was covered by A's reservation, but B gets no benefit: on-demand 0.96
    assert billed([ri_covered("b")], plan, "tenant-b") == Decimal("0.96")
    # the same plan with the reservation assigned to nobody: B's and A's usage both at on-demand, fee not billed
    unassigned = PlanVersion(id="none", commitments=CommitmentTreatment.ASSIGNED)
    assert billed([ri_covered("a"), ri_fee], unassigned, "tenant-a") == Decimal("0.96")


def sp_rows() -> list[dict[str, object]]:
    # 24 h of EC2 covered by a Compute Savings Plan with a commitment of 0.073/h:
    # - SavingsPlanCoveredUsage: on-demand 24 × 0.10 = 2.40 (unblended = public on-demand),
    #   savings_plan_effective_cost 24 × 0.07 = 1.68;
    # - SavingsPlanNegation: −2.40 (cancels the covered usage's on-demand unblended cost), amortised 0;
    # - SavingsPlanRecurringFee: the commitment 24 × 0.073 = 1.752, of which 1.68 was used:
    #   amortised (CID) = TotalCommitmentToDate − UsedCommitment = 0.072.
    # What AWS charged (unblended): 2.40 − 2.40 + 1.752 = 1.752 = amortised 1.68 + 0 + 0.072.
    return [
        row(
            "2.40",
            line_item_type="SavingsPlanCoveredUsage",
            PricingQuantity=Decimal(24),
            savings_plan_arn=SP,
            savings_plan_effective_cost=Decimal("1.68"),
            EffectiveCost=Decimal("1.68"),
        ),
        row("-2.40", line_item_type="SavingsPlanNegation", savings_plan_arn=SP, EffectiveCost=Decimal(0)),
        row(
            "1.752",
            line_item_type="SavingsPlanRecurringFee",
            ServiceName="Savings Plans for AWS Compute usage",
            savings_plan_arn=SP,
            EffectiveCost=Decimal("0.072"),
            public_on_demand_cost=None,
        ),
    ]


def test_savings_plan_pass_through_bills_the_effective_cost_and_ignores_the_negation() -> None:
    plan = PlanVersion(id="pass", commitments=CommitmentTreatment.PASS_THROUGH)
    by_service: dict[str | None, Decimal] = {}
    for g in rate(table(sp_rows()), plan, tenant_id="t"):
        by_service[g.service] = by_service.get(g.service, Decimal(0)) + g.billed
    # EC2: covered usage at 1.68 + negation 0 (not −2.40: that would bill 1.68 − 2.40 < 0, counting it twice)
    assert by_service == {EC2: Decimal("1.68"), "Savings Plans for AWS Compute usage": Decimal("0.072")}
    invoice = compute_invoice(table(sp_rows()), plan, None, ExchangeRates(), None, [], "2024-01", tenant_id="t")
    # lines rounded to cents: EC2 1.68, SP fee 0.07 → total 1.75; operator cost 1.752 → 1.75; margin 0
    assert [line.amount for line in invoice.lines] == [Decimal("1.68"), Decimal("0.07")]
    assert (invoice.total, invoice.operator_cost, invoice.margin) == (Decimal("1.75"), Decimal("1.75"), Decimal(0))


def test_savings_plan_retained_bills_on_demand_and_keeps_the_fees() -> None:
    plan = PlanVersion(id="retain", commitments=CommitmentTreatment.RETAIN)
    invoice = compute_invoice(table(sp_rows()), plan, None, ExchangeRates(), None, [], "2024-01", tenant_id="t")
    # covered usage as if uncovered: 2.40; negation and recurring fee not billed (0.00 line for the fee)
    assert invoice.total == Decimal("2.40")
    # operator cost 1.752 → 1.75; margin 2.40 − 1.75 = 0.65
    assert (invoice.operator_cost, invoice.margin) == (Decimal("1.75"), Decimal("0.65"))
