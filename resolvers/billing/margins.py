"""Margins: what the operator bills its tenants against what their usage cost it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from cost.billing import (
    BillingError,
    PlanVersion,
    margin_report,
)
from cost.rows import read_rows
from db.queries import billing, costs, tenancy
from db.records import TenantRecord
from resolvers.billing.access import require_billing_admin
from resolvers.billing.drafts import RATING_COLUMNS, billing_groups, billing_setup
from resolvers.common.amounts import period_of
from resolvers.common.budget import charged
from resolvers.common.context import RequestContext
from resolvers.common.errors import InvalidInput
from resolvers.costs.imports import require_store


@dataclass(frozen=True)
class MarginLine:
    tenant: TenantRecord | None
    service: str | None
    currency: str
    billed: Decimal
    cost: Decimal

    @property
    def margin(self) -> Decimal:
        return self.billed - self.cost


@charged("margins")
async def margins(ctx: RequestContext, period: str, group_by: Sequence[str]) -> list[MarginLine]:
    """Billed (rated, before invoice rounding and fees) against the operator's amortised cost, in the rows'
    currency, for every tenant the operator bills that has a plan; grouped by TENANT and/or SERVICE."""
    require_billing_admin(ctx)
    store = require_store(ctx)
    period = period_of(period)
    tx = ctx.tx
    billed = await tenancy.tenants_by_ids(tx, await billing.billed_tenant_ids(tx))
    by_id = {t.id: t for t in billed}
    plans: dict[str, PlanVersion] = {}
    for tenant in billed:
        try:
            plans[str(tenant.id)] = (await billing_setup(tx, tenant, period)).plan
        except InvalidInput:
            continue  # no plan (or none in force): it bills nothing
    history = await billing.assignment_history(tx, list(by_id))
    groups, scope = billing_groups(history), await costs.visible_account_scope(tx, list(by_id))

    def work() -> list[Any]:
        rows = read_rows(store, scope, period, columns=RATING_COLUMNS, overlapping=True)
        return margin_report(rows, groups, plans)

    try:
        rows = await asyncio.to_thread(work)
    except BillingError as error:
        raise InvalidInput(str(error), field="period") from error
    keys = set(group_by)
    totals: dict[tuple[UUID | None, str | None, str], list[Decimal]] = {}
    for row in rows:
        key = (
            UUID(row.tenant_id) if "TENANT" in keys else None,
            row.service if "SERVICE" in keys else None,
            row.currency,
        )
        pair = totals.setdefault(key, [Decimal(0), Decimal(0)])
        pair[0] += row.billed
        pair[1] += row.cost
    return [
        MarginLine(by_id.get(t) if t else None, s, c, b, k)
        for (t, s, c), (b, k) in sorted(totals.items(), key=lambda kv: (str(kv[0][0]), kv[0][1] or "", kv[0][2]))
    ]
