"""Operator cost beside the billed amount, so margin = billed − cost.

The operator's cost of a row is :func:`cost.billing.rating.operator_cost` (the CUDOS amortised-cost formula).
:func:`margin_report` rates every tenant's rows under its plan version and sums billed amount and cost per
tenant, service and billing period, exactly, in the rows' currency (before conversion and invoice rounding).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa

from cost.billing.groups import BillingGroups, split_by_tenant
from cost.billing.money import EXACT, ZERO
from cost.billing.plans import PlanVersion
from cost.billing.rating import operator_cost, rate

__all__ = ["MarginRow", "margin_report", "operator_cost"]


@dataclass(frozen=True)
class MarginRow:
    tenant_id: str
    period: str | None
    service: str | None
    currency: str
    billed: Decimal
    cost: Decimal

    @property
    def margin(self) -> Decimal:
        return EXACT.subtract(self.billed, self.cost)


def margin_report(
    rows: pa.Table | pa.RecordBatch, groups: BillingGroups, plans: Mapping[str, PlanVersion]
) -> list[MarginRow]:
    """Billed, cost and margin per (tenant, period, service, currency) for the tenants in ``plans``.

    Rows of accounts in no billing group, or of tenants without a plan, are left out (they bill nobody).
    """
    out: list[MarginRow] = []
    for tenant_id, tenant_rows in sorted(split_by_tenant(rows, groups).by_tenant.items()):
        if tenant_id not in plans:
            continue
        totals: dict[tuple[str | None, str | None, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for g in rate(tenant_rows, plans[tenant_id], tenant_id=tenant_id, by=("period", "service")):
            pair = totals[(g.period, g.service, g.currency)]
            pair[0] = EXACT.add(pair[0], g.billed)
            pair[1] = EXACT.add(pair[1], g.cost)
        out += [
            MarginRow(tenant_id, period, service, currency, billed, cost)
            for (period, service, currency), (billed, cost) in sorted(
                totals.items(), key=lambda kv: tuple("" if k is None else k for k in kv[0])
            )
        ]
    return out
