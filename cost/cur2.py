"""AWS CUR 2.0 (snake_case headers; CSV with JSON map columns, or Parquet with map columns) → normalised.

Same mapping as :mod:`cost.legacy` with the CUR 2.0 names: ``line_item_unblended_cost`` for
``lineItem/UnblendedCost`` and so on; ServiceName is ``product_product_name`` or ``product['product_name']``,
else ``line_item_product_code``; RegionId is ``product_region_code``, else ``product['region']``; Tags is
``resource_tags`` with its keys as AWS writes them (``user_team``), an empty map for a row without tags (a null
cell, ``{}`` or no such column), as the legacy reader gives. ``cost_category`` and ``discount`` are not needed
by the normalised schema and are not read.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from cost.amortisation import charge_category, effective_cost
from cost.columns import TAGS
from cost.values import Batch, assemble, coalesce, json_field, tags_from_json

MONEY_COLUMNS = (
    "line_item_unblended_cost",
    "line_item_net_unblended_cost",
    "pricing_public_on_demand_cost",
    "line_item_usage_amount",
    "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
)
TEXT_COLUMNS = (
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "bill_billing_period_start_date",
    "bill_payer_account_id",
    "line_item_usage_account_id",
    "product_product_name",
    "line_item_product_code",
    "product_sku",
    "line_item_resource_id",
    "pricing_unit",
    "product_region_code",
    "line_item_currency_code",
    "line_item_line_item_type",
    "line_item_usage_type",
    "line_item_operation",
    "reservation_reservation_a_r_n",
    "savings_plan_savings_plan_a_r_n",
    "product",
    "resource_tags",
)
CURRENCY = "line_item_currency_code"
PERIOD = "bill_billing_period_start_date"
ACCOUNT = "line_item_usage_account_id"
_NO_TAGS = pa.scalar([], TAGS)


def columns_to_read(header: list[str]) -> list[str]:
    wanted = set(MONEY_COLUMNS) | set(TEXT_COLUMNS)
    return [name for name in header if name in wanted]


def normalise(batch: Batch) -> pa.RecordBatch:
    unblended = batch.money("line_item_unblended_cost")
    net = batch.money("line_item_net_unblended_cost")
    line_type = batch.text("line_item_line_item_type")
    reservation_arn = batch.text("reservation_reservation_a_r_n")
    ri_effective = batch.money("reservation_effective_cost")
    sp_effective = batch.money("savings_plan_savings_plan_effective_cost")
    public = batch.money("pricing_public_on_demand_cost")
    return assemble(
        {
            "BilledCost": unblended,
            "EffectiveCost": effective_cost(
                line_item_type=line_type,
                unblended=unblended,
                sp_effective=sp_effective,
                sp_total_commitment=batch.money("savings_plan_total_commitment_to_date"),
                sp_used_commitment=batch.money("savings_plan_used_commitment"),
                ri_effective=ri_effective,
                ri_unused_upfront=batch.money("reservation_unused_amortized_upfront_fee_for_billing_period"),
                ri_unused_recurring=batch.money("reservation_unused_recurring_fee"),
                reservation_arn=reservation_arn,
            ),
            "ListCost": public,
            "ContractedCost": coalesce(net, unblended),
            "ChargeCategory": charge_category(line_type),
            "ChargeClass": pa.nulls(len(batch), pa.string()),
            "ChargePeriodStart": batch.timestamp("line_item_usage_start_date"),
            "ChargePeriodEnd": batch.timestamp("line_item_usage_end_date"),
            "BillingPeriodStart": batch.timestamp(PERIOD),
            "BillingAccountId": batch.text("bill_payer_account_id"),
            "SubAccountId": batch.text(ACCOUNT),
            "ServiceName": coalesce(
                batch.text("product_product_name"),
                json_field(batch, "product", "product_name"),
                batch.text("line_item_product_code"),
            ),
            "SkuId": batch.text("product_sku"),
            "ResourceId": batch.text("line_item_resource_id"),
            "PricingQuantity": batch.money("line_item_usage_amount"),
            "PricingUnit": batch.text("pricing_unit"),
            "RegionId": coalesce(batch.text("product_region_code"), json_field(batch, "product", "region")),
            "BillingCurrency": batch.text(CURRENCY),
            "Tags": pc.fill_null(tags_from_json(batch, "resource_tags"), _NO_TAGS),
            "line_item_type": line_type,
            "usage_type": batch.text("line_item_usage_type"),
            "operation": batch.text("line_item_operation"),
            "public_on_demand_cost": public,
            "reservation_arn": reservation_arn,
            "reservation_effective_cost": ri_effective,
            "savings_plan_arn": batch.text("savings_plan_savings_plan_a_r_n"),
            "savings_plan_effective_cost": sp_effective,
            "unblended_cost": unblended,
            "net_unblended_cost": net,
        }
    )
