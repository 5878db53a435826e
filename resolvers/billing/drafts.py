"""The invoice of one tenant and period as it would close now: its billing setup, the computed draft, the preview
(nothing stored). Closing, voiding and margins recompute through :func:`compute_draft` and :func:`billing_setup`.

Billing groups come from the account assignment history; an account's first assignment also covers the time
before it (cost data imported for months before an account was assigned belongs to its first tenant).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cost import CostStore
from cost.billing import (
    Assignment,
    BillingError,
    BillingGroups,
    CustomItem,
    ExchangeRates,
    InvoiceDraft,
    PlanVersion,
    PricingPlan,
    compute_invoice,
    rows_for_tenant,
)
from cost.billing.definitions import plan_from_json
from cost.billing.plans import ItemAmount, Recurrence
from cost.billing.tax import TaxPolicy
from cost.columns import SCHEMA
from cost.rows import read_rows
from cost.scope import AccountScope
from db.billing_records import CustomerBillingRecord
from db.queries import billing, costs
from db.records import TenantRecord
from db.session import RequestTransaction
from resolvers.billing import invoice_details
from resolvers.billing.access import billed_customer, require_billing_admin
from resolvers.common.amounts import period_of
from resolvers.common.context import RequestContext
from resolvers.common.errors import ApiError, InvalidInput
from resolvers.costs.imports import require_store

# Rating needs every column but the tags (the heaviest one).
RATING_COLUMNS = tuple(n for n in SCHEMA.names if n != "Tags")
_BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


class PeriodHasNoData(ApiError):
    code = "CONFLICT"

    def __init__(self, tenant_slug: str, period: str) -> None:
        super().__init__(f"{tenant_slug} has no cost data in {period}")
        self.tenant_slug = tenant_slug
        self.period = period


@dataclass(frozen=True)
class BillingSetup:
    """Everything :func:`cost.billing.compute_invoice` needs for one tenant and period, read under RLS."""

    customer: TenantRecord
    settings: CustomerBillingRecord
    plan: PlanVersion
    fx: ExchangeRates
    tax: TaxPolicy
    items: tuple[CustomItem, ...]
    groups: BillingGroups
    scope: AccountScope


@dataclass(frozen=True)
class Preview:
    customer: TenantRecord
    draft: InvoiceDraft


def billing_groups(history: Sequence[Any]) -> BillingGroups:
    assignments, seen = [], set()
    for row in history:
        start = row.valid_from if row.account_id in seen else _BEGINNING
        seen.add(row.account_id)
        assignments.append(Assignment(row.account_id, str(row.tenant_id), start, row.valid_to))
    return BillingGroups(assignments)


async def billing_setup(tx: RequestTransaction, customer: TenantRecord, period: str) -> BillingSetup:
    settings = (await billing.customer_billing_of(tx, [customer.id])).get(customer.id)
    if settings is None or settings.plan_id is None:
        raise InvalidInput(f"{customer.slug} has no pricing plan; assign one first", field="tenantSlug")
    versions = await billing.plan_versions(tx, [settings.plan_id])
    try:
        plan = PricingPlan(
            id=str(settings.plan_id),
            name="",
            versions=tuple(plan_from_json(v.definition, id=str(v.id), valid_from=v.valid_from) for v in versions),
        ).version_for(period)
        plan = replace(plan, currency=settings.currency)
        rates = await billing.rates_for(tx, settings.operator_id, period)
        fx = ExchangeRates({period: rates} if rates else {})
        issuer = await billing.issuer_of(tx, settings.operator_id)
        tax = invoice_details.tax_policy(issuer, settings, await billing.tax_rates_of(tx, settings.operator_id), period)
        items = tuple(
            CustomItem(
                description=i.description,
                kind=i.kind,
                amount_type=ItemAmount(i.amount_type),
                value=Decimal(i.value),
                period=i.period,
                recurrence=Recurrence(i.recurrence),
                until=i.until,
                currency=i.currency,
                tax_category=i.tax_category,
            )
            for i in await billing.custom_items_of(tx, customer.id)
        )
    except BillingError as error:
        raise InvalidInput(f"billing settings of {customer.slug}: {error}", field="tenantSlug") from error
    history = await billing.assignment_history(tx, [customer.id])
    return BillingSetup(
        customer=customer,
        settings=settings,
        plan=plan,
        fx=fx,
        tax=tax,
        items=items,
        groups=billing_groups(history),
        scope=await costs.visible_account_scope(tx, [customer.id]),
    )


async def compute_draft(tx: RequestTransaction, store: CostStore, customer: TenantRecord, period: str) -> InvoiceDraft:
    """The tenant's invoice for the period as it would close now (raises :class:`PeriodHasNoData`)."""
    setup = await billing_setup(tx, customer, period)

    def work() -> InvoiceDraft | None:
        # Rows overlapping the customer's intervals; the billing groups split those that cross a boundary.
        rows = read_rows(store, setup.scope, period, columns=RATING_COLUMNS, overlapping=True)
        mine = rows_for_tenant(rows, setup.groups, str(customer.id))
        if mine.num_rows == 0:
            return None
        return compute_invoice(
            mine, setup.plan, None, setup.fx, setup.tax, setup.items, period, tenant_id=str(customer.id)
        )

    try:
        draft = await asyncio.to_thread(work)
    except BillingError as error:
        raise InvalidInput(f"cannot compute the invoice of {customer.slug}: {error}", field="period") from error
    if draft is None:
        raise PeriodHasNoData(customer.slug, period)
    return draft


async def preview_invoice(ctx: RequestContext, tenant_slug: str, period: str) -> Preview:
    require_billing_admin(ctx)
    store = require_store(ctx)
    period = period_of(period)
    customer = await billed_customer(ctx.tx, tenant_slug)
    return Preview(customer, await compute_draft(ctx.tx, store, customer, period))
