"""FOCUS 1.0–1.2 (CSV or Parquet) → normalised schema.

FOCUS columns keep their names; ``Tags`` (JSON text in CSV, a map in Parquet) keeps its own keys. The CUR
re-rating columns are null except ``line_item_type`` (null) — FOCUS rows are rated from FOCUS columns.
A null ``SubAccountId`` (allowed by FOCUS for charges at billing-account level), or no ``SubAccountId``
column at all (FOCUS makes it conditional: present only where the provider has sub accounts), is stored
under the ``BillingAccountId`` so every row has a partition; a file needs one of the two columns.
``"NULL"`` text reads as null (the official sample writes it).
"""

from __future__ import annotations

import pyarrow as pa

from cost.columns import MONEY
from cost.values import Batch, assemble, coalesce, tags_from_json

MONEY_COLUMNS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingQuantity")
TEXT_COLUMNS = (
    "ChargeCategory",
    "ChargeClass",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BillingPeriodStart",
    "BillingAccountId",
    "SubAccountId",
    "ServiceName",
    "SkuId",
    "ResourceId",
    "PricingUnit",
    "RegionId",
    "BillingCurrency",
    "Tags",
)
CURRENCY = "BillingCurrency"
PERIOD = "BillingPeriodStart"
ACCOUNT = "SubAccountId"
BILLING_ACCOUNT = "BillingAccountId"
NULL_VALUES = ("", "NULL")


def columns_to_read(header: list[str]) -> list[str]:
    wanted = set(MONEY_COLUMNS) | set(TEXT_COLUMNS)
    return [name for name in header if name in wanted]


def has_account(header: list[str]) -> bool:
    return ACCOUNT in header or BILLING_ACCOUNT in header


def account_ids(batch: Batch) -> pa.Array:
    """The partition account of each row: SubAccountId, else BillingAccountId."""
    return coalesce(batch.text(ACCOUNT), batch.text(BILLING_ACCOUNT))


def normalise(batch: Batch) -> pa.RecordBatch:
    n = len(batch)
    none_text = pa.nulls(n, pa.string())
    none_money = pa.nulls(n, MONEY)
    billed = batch.money("BilledCost")
    account = batch.text(BILLING_ACCOUNT)
    return assemble(
        {
            "BilledCost": billed,
            "EffectiveCost": batch.money("EffectiveCost"),
            "ListCost": batch.money("ListCost"),
            "ContractedCost": batch.money("ContractedCost"),
            "ChargeCategory": batch.text("ChargeCategory"),
            "ChargeClass": batch.text("ChargeClass"),
            "ChargePeriodStart": batch.timestamp("ChargePeriodStart"),
            "ChargePeriodEnd": batch.timestamp("ChargePeriodEnd"),
            "BillingPeriodStart": batch.timestamp("BillingPeriodStart"),
            "BillingAccountId": account,
            "SubAccountId": account_ids(batch),
            "ServiceName": batch.text("ServiceName"),
            "SkuId": batch.text("SkuId"),
            "ResourceId": batch.text("ResourceId"),
            "PricingQuantity": batch.money("PricingQuantity"),
            "PricingUnit": batch.text("PricingUnit"),
            "RegionId": batch.text("RegionId"),
            "BillingCurrency": batch.text("BillingCurrency"),
            "Tags": tags_from_json(batch, "Tags"),
            "line_item_type": none_text,
            "usage_type": none_text,
            "operation": none_text,
            "public_on_demand_cost": none_money,
            "reservation_arn": none_text,
            "reservation_effective_cost": none_money,
            "savings_plan_arn": none_text,
            "savings_plan_effective_cost": none_money,
            "unblended_cost": none_money,
            "net_unblended_cost": none_money,
        }
    )
