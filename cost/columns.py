"""The normalised Arrow schema every reader produces and the store keeps.

Names follow FOCUS 1.x (PascalCase) for the common columns; the snake_case columns are the CUR fields that
re-rating needs and are null for rows that did not come from a CUR.

Money and quantities are ``decimal128(38, 18)``: 18 fractional digits hold every amount AWS writes (CUR
amounts reach 10–12 fractional digits, rates such as ``1.0E-10`` 10; 18 leaves head-room for unit prices
of per-request services), and the 20 integer digits left hold any sum of them (10^20 of any currency).
A value needing more fractional digits than 18 is rejected, never rounded. Arrow sums decimals exactly
in 128-bit integers, so totals stay exact end to end.
"""

from __future__ import annotations

import pyarrow as pa

MONEY = pa.decimal128(38, 18)
TIMESTAMP = pa.timestamp("us", tz="UTC")
TAGS = pa.map_(pa.string(), pa.string())

FIELDS: tuple[pa.Field, ...] = (
    pa.field("BilledCost", MONEY),
    pa.field("EffectiveCost", MONEY),
    pa.field("ListCost", MONEY),
    pa.field("ContractedCost", MONEY),
    pa.field("ChargeCategory", pa.string()),
    pa.field("ChargeClass", pa.string()),
    pa.field("ChargePeriodStart", TIMESTAMP),
    pa.field("ChargePeriodEnd", TIMESTAMP),
    pa.field("BillingPeriodStart", TIMESTAMP),
    pa.field("BillingAccountId", pa.string()),
    pa.field("SubAccountId", pa.string()),
    pa.field("ServiceName", pa.string()),
    pa.field("SkuId", pa.string()),
    pa.field("ResourceId", pa.string()),
    pa.field("PricingQuantity", MONEY),
    pa.field("PricingUnit", pa.string()),
    pa.field("RegionId", pa.string()),
    pa.field("BillingCurrency", pa.string()),
    pa.field("Tags", TAGS),
    pa.field("line_item_type", pa.string()),
    pa.field("usage_type", pa.string()),
    pa.field("operation", pa.string()),
    pa.field("public_on_demand_cost", MONEY),
    pa.field("reservation_arn", pa.string()),
    pa.field("reservation_effective_cost", MONEY),
    pa.field("savings_plan_arn", pa.string()),
    pa.field("savings_plan_effective_cost", MONEY),
    pa.field("unblended_cost", MONEY),
    pa.field("net_unblended_cost", MONEY),
)

SCHEMA = pa.schema(FIELDS)
DECIMAL_COLUMNS = frozenset(f.name for f in FIELDS if f.type == MONEY)

# Hive partition keys of the store (derived from BillingPeriodStart and SubAccountId).
PERIOD_KEY = "billing_period"
ACCOUNT_KEY = "sub_account_id"
