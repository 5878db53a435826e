"""Legacy AWS Cost and Usage Report (CUR, headers ``category/ColumnName``) → normalised schema.

=============================  =====================================================================
normalised column              legacy CUR column(s)
=============================  =====================================================================
BilledCost                     lineItem/UnblendedCost
EffectiveCost                  amortised cost, see :mod:`cost.amortisation` (CID formula)
ListCost                       pricing/publicOnDemandCost
ContractedCost                 lineItem/NetUnblendedCost, else lineItem/UnblendedCost
ChargeCategory                 from lineItem/LineItemType (:data:`cost.amortisation.CHARGE_CATEGORY`)
ChargeClass                    null (CUR does not mark corrections)
ChargePeriodStart / End        lineItem/UsageStartDate / lineItem/UsageEndDate
BillingPeriodStart             bill/BillingPeriodStartDate
BillingAccountId               bill/PayerAccountId
SubAccountId                   lineItem/UsageAccountId
ServiceName                    product/ProductName, else lineItem/ProductCode
SkuId                          product/sku
ResourceId                     lineItem/ResourceId
PricingQuantity                lineItem/UsageAmount
PricingUnit                    pricing/unit
RegionId                       product/regionCode, else product/region
BillingCurrency                lineItem/CurrencyCode
Tags                           every ``resourceTags/<key>`` column; map key = ``<key>`` as AWS writes it
                               (``resourceTags/user:Team`` → ``user:Team``, ``aws:createdBy`` stays);
                               empty cells are absent keys
line_item_type                 lineItem/LineItemType
usage_type / operation         lineItem/UsageType / lineItem/Operation
public_on_demand_cost          pricing/publicOnDemandCost
reservation_arn                reservation/ReservationARN
reservation_effective_cost     reservation/EffectiveCost
savings_plan_arn               savingsPlan/SavingsPlanARN
savings_plan_effective_cost    savingsPlan/SavingsPlanEffectiveCost
unblended_cost                 lineItem/UnblendedCost
net_unblended_cost             lineItem/NetUnblendedCost
=============================  =====================================================================
Any column absent from a month's file reads as null.
"""

from __future__ import annotations

import pyarrow as pa

from cost.amortisation import charge_category, effective_cost
from cost.values import Batch, assemble, coalesce, nulls, tags_from_columns

TAG_PREFIX = "resourceTags/"
MONEY_COLUMNS = (
    "lineItem/UnblendedCost",
    "lineItem/NetUnblendedCost",
    "pricing/publicOnDemandCost",
    "lineItem/UsageAmount",
    "reservation/EffectiveCost",
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation/UnusedRecurringFee",
    "savingsPlan/SavingsPlanEffectiveCost",
    "savingsPlan/TotalCommitmentToDate",
    "savingsPlan/UsedCommitment",
)
TEXT_COLUMNS = (
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "bill/BillingPeriodStartDate",
    "bill/PayerAccountId",
    "lineItem/UsageAccountId",
    "product/ProductName",
    "lineItem/ProductCode",
    "product/sku",
    "lineItem/ResourceId",
    "pricing/unit",
    "product/regionCode",
    "product/region",
    "lineItem/CurrencyCode",
    "lineItem/LineItemType",
    "lineItem/UsageType",
    "lineItem/Operation",
    "reservation/ReservationARN",
    "savingsPlan/SavingsPlanARN",
)
CURRENCY = "lineItem/CurrencyCode"
PERIOD = "bill/BillingPeriodStartDate"
ACCOUNT = "lineItem/UsageAccountId"


def columns_to_read(header: list[str]) -> list[str]:
    wanted = set(MONEY_COLUMNS) | set(TEXT_COLUMNS)
    return [name for name in header if name in wanted or name.startswith(TAG_PREFIX)]


def normalise(batch: Batch) -> pa.RecordBatch:
    unblended = batch.money("lineItem/UnblendedCost")
    net = batch.money("lineItem/NetUnblendedCost")
    line_type = batch.text("lineItem/LineItemType")
    reservation_arn = batch.text("reservation/ReservationARN")
    ri_effective = batch.money("reservation/EffectiveCost")
    sp_effective = batch.money("savingsPlan/SavingsPlanEffectiveCost")
    public = batch.money("pricing/publicOnDemandCost")
    tag_columns = [
        (name[len(TAG_PREFIX) :], batch.data.column(name))
        for name in batch.data.schema.names
        if name.startswith(TAG_PREFIX)
    ]
    return assemble(
        {
            "BilledCost": unblended,
            "EffectiveCost": effective_cost(
                line_item_type=line_type,
                unblended=unblended,
                sp_effective=sp_effective,
                sp_total_commitment=batch.money("savingsPlan/TotalCommitmentToDate"),
                sp_used_commitment=batch.money("savingsPlan/UsedCommitment"),
                ri_effective=ri_effective,
                ri_unused_upfront=batch.money("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod"),
                ri_unused_recurring=batch.money("reservation/UnusedRecurringFee"),
                reservation_arn=reservation_arn,
            ),
            "ListCost": public,
            "ContractedCost": coalesce(net, unblended),
            "ChargeCategory": charge_category(line_type),
            "ChargeClass": nulls(len(batch), pa.string()),
            "ChargePeriodStart": batch.timestamp("lineItem/UsageStartDate"),
            "ChargePeriodEnd": batch.timestamp("lineItem/UsageEndDate"),
            "BillingPeriodStart": batch.timestamp(PERIOD),
            "BillingAccountId": batch.text("bill/PayerAccountId"),
            "SubAccountId": batch.text(ACCOUNT),
            "ServiceName": coalesce(batch.text("product/ProductName"), batch.text("lineItem/ProductCode")),
            "SkuId": batch.text("product/sku"),
            "ResourceId": batch.text("lineItem/ResourceId"),
            "PricingQuantity": batch.money("lineItem/UsageAmount"),
            "PricingUnit": batch.text("pricing/unit"),
            "RegionId": coalesce(batch.text("product/regionCode"), batch.text("product/region")),
            "BillingCurrency": batch.text(CURRENCY),
            "Tags": tags_from_columns(tag_columns, len(batch)),
            "line_item_type": line_type,
            "usage_type": batch.text("lineItem/UsageType"),
            "operation": batch.text("lineItem/Operation"),
            "public_on_demand_cost": public,
            "reservation_arn": reservation_arn,
            "reservation_effective_cost": ri_effective,
            "savings_plan_arn": batch.text("savingsPlan/SavingsPlanARN"),
            "savings_plan_effective_cost": sp_effective,
            "unblended_cost": unblended,
            "net_unblended_cost": net,
        }
    )
