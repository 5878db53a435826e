"""Cost queries: the account scope comes from the RLS-protected `cloud_accounts` query in the request's own
transaction, then the engine sums the Parquet store for those accounts only, off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pyarrow as pa
import pyarrow.compute as pc

from cost import CostFilter, Dimension, Metric, Tag, aggregate
from cost.billing import CostCategories, allocate
from cost.billing.definitions import categories_from_json
from cost.billing.errors import ConfigurationError
from cost.rows import read_rows
from db.queries import billing, costs, tenancy
from policies.principal import Role, TenantKind
from resolvers.common.amounts import period_of
from resolvers.common.audit import audit_granted_reads
from resolvers.common.budget import charged
from resolvers.common.context import RequestContext
from resolvers.common.errors import Forbidden, InvalidInput, NotFound
from resolvers.costs.imports import require_store

MAX_ROWS = 10_000


@dataclass(frozen=True)
class CostQuery:
    group_by: Sequence[Dimension | None]  # None: the tag named by `tag_key`
    metrics: Sequence[Metric]
    period: str | None = None
    period_from: str | None = None
    period_to: str | None = None
    tag_key: str | None = None
    services: Collection[str] = ()
    regions: Collection[str] = ()
    charge_categories: Collection[str] = ()
    line_item_types: Collection[str] = ()
    accounts: Collection[str] = ()
    tags: Mapping[str, Collection[str]] = field(default_factory=dict)
    company: str | None = None
    category_set: str | None = None  # group by the categories of this named set (billing admins)


def _period(value: str | None, name: str) -> str | None:
    return None if value is None else period_of(value, name)


def _grouping(query: CostQuery) -> list[Dimension | Tag]:
    groups: list[Dimension | Tag] = []
    for dimension in query.group_by:
        if dimension is None:
            if not query.tag_key:
                raise InvalidInput("grouping by TAG needs tagKey", field="tagKey")
            groups.append(Tag(query.tag_key))
        else:
            groups.append(dimension)
    if len(set(groups)) != len(groups):
        raise InvalidInput("a dimension appears twice in groupBy", field="groupBy")
    return groups


async def _tenant_scope(ctx: RequestContext, company: str | None) -> list[UUID] | None:
    """Whose accounts: the company's (if readable), every billed tenant's for a billing admin, else own."""
    acting = ctx.require_tenant()
    if company is None:
        if acting.kind is TenantKind.OPERATOR and acting.role is Role.BILLING_ADMIN:
            return None  # the policies narrow it to the tenants this operator bills
        return [acting.id]
    tenant = await tenancy.tenant_by_slug(ctx.tx, company)
    if tenant is None:
        raise NotFound(f"no tenant {company!r} is visible to you")
    if not await costs.may_read_costs_of(ctx.tx, tenant.id):
        raise Forbidden(f"{company} has not granted you access to its costs")
    return [tenant.id]


@charged("costs")
async def cost_rows(ctx: RequestContext, query: CostQuery) -> list[dict[str, Any]]:
    """Rows keyed by dimension (`service`, `account`, …, `tag`), `currency`, and each metric (Decimal)."""
    if query.category_set is not None:
        return await category_rows(ctx, query)
    store = require_store(ctx)
    if not query.metrics:
        raise InvalidInput("ask for at least one metric", field="metrics")
    period = _period(query.period, "period")
    start, end = _period(query.period_from, "from"), _period(query.period_to, "to")
    if (period is None) == (start is None and end is None):
        raise InvalidInput("give either period or from/to", field="period")
    groups = _grouping(query)
    tenant_ids = await _tenant_scope(ctx, query.company)
    scope = await costs.visible_account_scope(ctx.tx, tenant_ids)
    if query.company is not None and tenant_ids is not None:
        await audit_granted_reads(ctx, tenant_ids, "costs", "costs")
    cost_filter = CostFilter(
        services=query.services,
        regions=query.regions,
        charge_categories=query.charge_categories,
        line_item_types=query.line_item_types,
        accounts=query.accounts,
        tags=query.tags,
    )
    # Currency is always a group key: amounts in different currencies are never added together.
    rows = await asyncio.to_thread(
        aggregate,
        store,
        scope,
        period=period,
        period_from=start,
        period_to=end,
        group_by=[*groups, Dimension.CURRENCY],
        filter=cost_filter,
        metrics=list(dict.fromkeys(query.metrics)),
    )
    if len(rows) > MAX_ROWS:
        raise InvalidInput(f"more than {MAX_ROWS} groups; narrow the filter or group by less", field="groupBy")
    tag_name = Tag(query.tag_key).name if query.tag_key else None
    return [{**row, "tag": row.get(tag_name)} if tag_name else row for row in rows]


_METRIC_COLUMN: dict[Metric, Callable[[pa.Table], pa.ChunkedArray]] = {
    Metric.LIST: lambda t: t["ListCost"],
    Metric.BILLED: lambda t: t["BilledCost"],
    Metric.EFFECTIVE: lambda t: t["EffectiveCost"],
    Metric.NET: lambda t: pc.coalesce(t["net_unblended_cost"], t["BilledCost"]),
}


async def category_rows(ctx: RequestContext, query: CostQuery) -> list[dict[str, Any]]:
    """One row per cost category of the operator's named set, per currency: each metric allocated by the set's
    ordered rules, shared costs split as the set says (exactly: the categories sum to the scope's total)."""
    acting = ctx.require_role(frozenset({Role.BILLING_ADMIN}), TenantKind.OPERATOR)
    store = require_store(ctx)
    if query.group_by:
        raise InvalidInput("CATEGORY is the only grouping a categorised query takes", field="groupBy")
    if not query.metrics:
        raise InvalidInput("ask for at least one metric", field="metrics")
    period = _period(query.period, "period")
    if period is None:
        raise InvalidInput("grouping by CATEGORY needs one period (YYYY-MM)", field="period")
    if any((query.services, query.regions, query.charge_categories, query.line_item_types, query.accounts, query.tags)):
        raise InvalidInput("categories allocate a whole scope; narrow it with `company`, not a filter", field="filter")
    assert query.category_set is not None
    record = await billing.category_by_name(ctx.tx, acting.id, query.category_set)
    if record is None:
        raise NotFound(f"no cost category set {query.category_set!r}")
    try:
        categories = categories_from_json(record.definition)
    except ConfigurationError as error:
        raise InvalidInput(str(error), field="categorySet") from error
    scope = await costs.visible_account_scope(ctx.tx, await _tenant_scope(ctx, query.company))
    table = await asyncio.to_thread(read_rows, store, scope, period)
    return await asyncio.to_thread(_allocated, table, categories, list(dict.fromkeys(query.metrics)))


def _allocated(table: pa.Table, categories: CostCategories, metrics: list[Metric]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for currency in sorted(c for c in set(table["BillingCurrency"].to_pylist()) if c is not None):
        part = table.filter(pc.equal(table["BillingCurrency"], currency))
        totals = {m: allocate(part, categories, amounts=_METRIC_COLUMN[m](part)).totals for m in metrics}
        for name in sorted(set().union(*(t.keys() for t in totals.values()))):
            rows.append({"category": name, "currency": currency, **{m.value: totals[m].get(name) for m in metrics}})
    return rows
