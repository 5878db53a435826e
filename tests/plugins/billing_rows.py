"""Build normalised cost rows (:data:`cost.columns.SCHEMA`) for billing tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from cost.amortisation import CHARGE_CATEGORY
from cost.columns import DECIMAL_COLUMNS, SCHEMA

JAN_START = datetime(2024, 1, 1, tzinfo=UTC)
DEFAULTS: dict[str, Any] = {
    "ChargePeriodStart": datetime(2024, 1, 2, tzinfo=UTC),
    "ChargePeriodEnd": datetime(2024, 1, 2, 1, tzinfo=UTC),
    "BillingPeriodStart": JAN_START,
    "BillingAccountId": "999988887777",
    "SubAccountId": "111111111111",
    "ServiceName": "Amazon Elastic Compute Cloud",
    "SkuId": "SKU-EC2",
    "usage_type": "BoxUsage:m5.large",
    "operation": "RunInstances",
    "PricingUnit": "Hrs",
    "PricingQuantity": Decimal(1),
    "BillingCurrency": "USD",
    "RegionId": "us-east-1",
    "line_item_type": "Usage",
}


def row(cost: str | Decimal = "1", **fields: Any) -> dict[str, Any]:
    """One CUR-like row; ``cost`` sets unblended, net unblended, billed and effective cost unless given."""
    amount = Decimal(cost)
    values: dict[str, Any] = {
        **DEFAULTS,
        "BilledCost": amount,
        "EffectiveCost": amount,
        "ContractedCost": amount,
        "unblended_cost": amount,
        "net_unblended_cost": amount,
        "public_on_demand_cost": amount,
        **fields,
    }
    values.setdefault("ChargeCategory", CHARGE_CATEGORY.get(values["line_item_type"] or "", "Adjustment"))
    for name in DECIMAL_COLUMNS:
        if isinstance(values.get(name), str | int):
            values[name] = Decimal(values[name])
    return values


def table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist([dict(r) for r in rows], schema=SCHEMA)
