"""Reserved Instance and Savings Plan treatment: who gets the benefit of a commitment.

Row roles, from the CUR ``line_item_type``:

- *covered usage*: ``DiscountedUsage`` (RI) and ``SavingsPlanCoveredUsage`` (SP);
- *commitment rows*: ``RIFee``, ``Fee`` with a reservation ARN (RI upfront), ``SavingsPlanRecurringFee``,
  ``SavingsPlanUpfrontFee`` and ``SavingsPlanNegation``.

Per plan version (:class:`cost.billing.plans.CommitmentTreatment`):

========== ================================================ ==============================================
treatment  covered usage is billed from                     commitment rows are billed at
========== ================================================ ==============================================
PASS_THROUGH its effective cost (``reservation_effective_cost`` their amortised cost (unused RI/SP amortised
           / ``savings_plan_effective_cost``)               commitment; upfront fees and negations are 0)
RETAIN     public on-demand cost, as if uncovered           nothing (the reseller keeps the benefit)
ASSIGNED   effective cost when the row's ARN is assigned to their amortised cost when the ARN is assigned
           the invoiced tenant, else public on-demand       to the invoiced tenant, else nothing
========== ================================================ ==============================================

A ``SavingsPlanNegation`` row is never billed: covered usage is already billed at its effective cost or at
on-demand, and billing the negation too would count the usage twice. A covered row without a public on-demand
cost falls back to its actual cost. The rule of the plan applies on top (a markup on pass-through usage marks
up the effective cost).
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from cost.billing.plans import CommitmentTreatment, PlanVersion

COVERED_RI = "DiscountedUsage"
COVERED_SP = "SavingsPlanCoveredUsage"
COVERED = (COVERED_RI, COVERED_SP)
COMMITMENT_FEES = ("RIFee", "SavingsPlanRecurringFee", "SavingsPlanUpfrontFee")
NEGATION = "SavingsPlanNegation"

Frame = Mapping[str, pa.Array]


def is_in(values: pa.Array, *options: str) -> pa.Array:
    return pc.fill_null(pc.is_in(values, value_set=pa.array(options, pa.string())), False)


def present(values: pa.Array) -> pa.Array:
    return pc.fill_null(pc.not_equal(values, ""), False)


def covered(frame: Frame) -> pa.Array:
    return is_in(frame["line_item_type"], *COVERED)


def commitment(frame: Frame) -> pa.Array:
    """Rows that carry a commitment's cost rather than usage (fees and negations)."""
    kinds = frame["line_item_type"]
    ri_upfront = pc.and_(is_in(kinds, "Fee"), present(frame["reservation_arn"]))
    return pc.or_(is_in(kinds, *COMMITMENT_FEES, NEGATION), ri_upfront)


def negation(frame: Frame) -> pa.Array:
    return is_in(frame["line_item_type"], NEGATION)


def commitment_arn(frame: Frame) -> pa.Array:
    none = pa.scalar(None, pa.string())
    return pc.coalesce(
        pc.if_else(present(frame["reservation_arn"]), frame["reservation_arn"], none),
        pc.if_else(present(frame["savings_plan_arn"]), frame["savings_plan_arn"], none),
    )


def benefits(frame: Frame, plan: PlanVersion, tenant_id: str) -> pa.Array:
    """Per row: does the invoiced tenant get the benefit of the commitment behind it?"""
    n = len(frame["line_item_type"])
    if plan.commitments is not CommitmentTreatment.ASSIGNED:
        return pa.array([plan.commitments is CommitmentTreatment.PASS_THROUGH] * n, pa.bool_())
    arns = sorted(plan.tenant_arns(tenant_id))
    return pc.fill_null(pc.is_in(commitment_arn(frame), value_set=pa.array(arns, pa.string())), False)
