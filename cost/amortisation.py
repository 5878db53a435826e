"""Amortised cost (FOCUS ``EffectiveCost``) of a CUR line, vectorised.

The formula is the one of the AWS Cloud Intelligence Dashboards / Well-Architected CUR query library
(``amortized_cost`` in CID's ``summary_view`` and in awslabs/aws-well-architected-labs,
``Cost/300_CUR_Queries/Code/Global/amortized_cost_by_charge_type.sql``)::

    SavingsPlanCoveredUsage  → savingsPlan/SavingsPlanEffectiveCost
    SavingsPlanRecurringFee  → savingsPlan/TotalCommitmentToDate − savingsPlan/UsedCommitment
    SavingsPlanNegation      → 0
    SavingsPlanUpfrontFee    → 0
    DiscountedUsage          → reservation/EffectiveCost
    RIFee                    → reservation/UnusedAmortizedUpfrontFeeForBillingPeriod
                               + reservation/UnusedRecurringFee
    Fee with a reservation ARN (RI upfront fee) → 0
    anything else            → lineItem/UnblendedCost

Missing operands count as 0 (they are absent from the CUR when the account has no RI/SP). The CID query
rounds the recurring-fee term to 8 digits; here it stays exact.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from cost.columns import MONEY
from cost.values import is_all_null, zero_if_null, zeros

# decimal128(38, s) ± decimal128(38, s) would need precision 39; one digit less on the way is safe for any
# single line item (< 10^19) and the result is cast back to MONEY.
_NARROW = pa.decimal128(MONEY.precision - 1, MONEY.scale)


def _narrow(values: pa.Array) -> pa.Array:
    return pc.cast(zero_if_null(values), _NARROW)


def _sum(left: pa.Array, right: pa.Array, *, minus: bool = False) -> pa.Array:
    """``left ± right`` with nulls as 0; zeros when both are null in every row (a file without the columns)."""
    if is_all_null(left) and is_all_null(right):
        return zeros(len(left))
    operation = pc.subtract if minus else pc.add
    return pc.cast(operation(_narrow(left), _narrow(right)), MONEY)


def effective_cost(
    *,
    line_item_type: pa.Array,
    unblended: pa.Array,
    sp_effective: pa.Array,
    sp_total_commitment: pa.Array,
    sp_used_commitment: pa.Array,
    ri_effective: pa.Array,
    ri_unused_upfront: pa.Array,
    ri_unused_recurring: pa.Array,
    reservation_arn: pa.Array,
) -> pa.Array:
    sp_fee = _sum(sp_total_commitment, sp_used_commitment, minus=True)
    ri_fee = _sum(ri_unused_upfront, ri_unused_recurring)
    has_ri = pc.and_(pc.is_valid(reservation_arn), pc.not_equal(reservation_arn, ""))
    is_ = {
        t: pc.fill_null(pc.equal(line_item_type, t), False)
        for t in (
            "SavingsPlanCoveredUsage",
            "SavingsPlanRecurringFee",
            "SavingsPlanNegation",
            "SavingsPlanUpfrontFee",
            "DiscountedUsage",
            "RIFee",
            "Fee",
        )
    }
    conditions = [
        is_["SavingsPlanCoveredUsage"],
        is_["SavingsPlanRecurringFee"],
        pc.or_(is_["SavingsPlanNegation"], is_["SavingsPlanUpfrontFee"]),
        is_["DiscountedUsage"],
        is_["RIFee"],
        pc.and_(is_["Fee"], pc.fill_null(has_ri, False)),
    ]
    choices = [
        zero_if_null(sp_effective),
        sp_fee,
        zeros(len(unblended)),
        zero_if_null(ri_effective),
        ri_fee,
        zeros(len(unblended)),
    ]
    names = [str(i) for i in range(len(conditions))]
    return pc.case_when(pc.make_struct(*conditions, field_names=names), *choices, unblended)


# FOCUS ChargeCategory of each CUR line item type; unknown types become "Adjustment".
CHARGE_CATEGORY: dict[str, str] = {
    "Usage": "Usage",
    "DiscountedUsage": "Usage",
    "SavingsPlanCoveredUsage": "Usage",
    "Tax": "Tax",
    "Fee": "Purchase",
    "RIFee": "Purchase",
    "SavingsPlanRecurringFee": "Purchase",
    "SavingsPlanUpfrontFee": "Purchase",
    "Credit": "Credit",
    "Refund": "Credit",
    "SavingsPlanNegation": "Credit",
    "BundledDiscount": "Credit",
    "EdpDiscount": "Credit",
    "PrivateRateDiscount": "Credit",
    "RiVolumeDiscount": "Credit",
    "DistributorDiscount": "Credit",
    "Discount": "Credit",
}
_TYPES = pa.array(list(CHARGE_CATEGORY))
_CATEGORIES = pa.array(list(CHARGE_CATEGORY.values()))


def charge_category(line_item_type: pa.Array) -> pa.Array:
    found = _CATEGORIES.take(pc.index_in(line_item_type, value_set=_TYPES))
    return pc.if_else(pc.is_valid(line_item_type), pc.fill_null(found, "Adjustment"), pa.scalar(None, pa.string()))
