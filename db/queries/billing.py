"""Billing configuration: plans and versions, customer settings, custom items, exchange rates, cost
categories, the operator's issuer details, and the account history that billing groups are built from.

Every function runs in the caller's transaction, under its context: the policies decide what it sees and
what it may write (the operator's billing admins, for the tenants it bills).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from db.billing_records import (
    BillingIssuerRecord,
    CostCategoryRecord,
    CustomerBillingRecord,
    CustomItemRecord,
    ExchangeRateRecord,
    PlanVersionRecord,
    PricingPlanRecord,
    TaxRateRecord,
)
from db.billing_tables import (
    billing_issuers,
    cost_categories,
    custom_line_items,
    customer_billing,
    exchange_rates,
    pricing_plan_versions,
    pricing_plans,
    tax_rates,
)
from db.cost_tables import cloud_account_assignments
from db.pagination import Page, Window, counter, keyset, page_of
from db.session import RequestTransaction

# -- plans ---------------------------------------------------------------------------------------------------


async def insert_plan(tx: RequestTransaction, tenant_id: UUID, name: str) -> PricingPlanRecord:
    statement = insert(pricing_plans).values(tenant_id=tenant_id, name=name).returning(*pricing_plans.columns)
    return PricingPlanRecord(**(await tx.execute(statement)).one()._mapping)


async def plan_by_id(tx: RequestTransaction, plan_id: UUID) -> PricingPlanRecord | None:
    row = (await tx.execute(select(pricing_plans).where(pricing_plans.c.id == plan_id))).first()
    return PricingPlanRecord(**row._mapping) if row else None


async def plans_page(tx: RequestTransaction, tenant_id: UUID, window: Window) -> Page[PricingPlanRecord]:
    statement = select(pricing_plans).where(pricing_plans.c.tenant_id == tenant_id)
    bounded = keyset(statement, [pricing_plans.c.name, pricing_plans.c.id], window)
    rows = (await tx.execute(bounded)).all()
    return page_of([PricingPlanRecord(**r._mapping) for r in rows], window, count=counter(tx, statement))


async def insert_plan_version(
    tx: RequestTransaction, plan: PricingPlanRecord, valid_from: str, definition: dict[str, Any]
) -> PlanVersionRecord:
    """The plan's next version (numbered after the highest so far)."""
    current = select(func.coalesce(func.max(pricing_plan_versions.c.version), 0) + 1).where(
        pricing_plan_versions.c.tenant_id == plan.tenant_id, pricing_plan_versions.c.plan_id == plan.id
    )
    statement = (
        insert(pricing_plan_versions)
        .values(
            tenant_id=plan.tenant_id,
            plan_id=plan.id,
            version=current.scalar_subquery(),
            valid_from=valid_from,
            definition=definition,
            created_by=tx.context.user_id,
        )
        .returning(*pricing_plan_versions.columns)
    )
    return PlanVersionRecord(**(await tx.execute(statement)).one()._mapping)


async def plan_versions(tx: RequestTransaction, plan_ids: Sequence[UUID]) -> list[PlanVersionRecord]:
    statement = (
        select(pricing_plan_versions)
        .where(pricing_plan_versions.c.plan_id.in_(list(plan_ids)))
        .order_by(pricing_plan_versions.c.plan_id, pricing_plan_versions.c.version)
    )
    return [PlanVersionRecord(**r._mapping) for r in (await tx.execute(statement)).all()]


# -- customer settings and items ------------------------------------------------------------------------------


async def upsert_customer_billing(
    tx: RequestTransaction, tenant_id: UUID, operator_id: UUID, fields: dict[str, Any]
) -> CustomerBillingRecord:
    upsert = pg_insert(customer_billing).values(tenant_id=tenant_id, operator_id=operator_id, **fields)
    statement = upsert.on_conflict_do_update(
        index_elements=[customer_billing.c.tenant_id], set_={**fields, "updated_at": func.now()}
    ).returning(*customer_billing.columns)
    return CustomerBillingRecord(**(await tx.execute(statement)).one()._mapping)


async def customer_billing_of(tx: RequestTransaction, tenant_ids: Sequence[UUID]) -> dict[UUID, CustomerBillingRecord]:
    statement = select(customer_billing).where(customer_billing.c.tenant_id.in_(list(tenant_ids)))
    rows = (await tx.execute(statement)).all()
    return {r.tenant_id: CustomerBillingRecord(**r._mapping) for r in rows}


async def insert_custom_item(
    tx: RequestTransaction, tenant_id: UUID, operator_id: UUID, fields: dict[str, Any]
) -> CustomItemRecord:
    statement = (
        insert(custom_line_items)
        .values(tenant_id=tenant_id, operator_id=operator_id, created_by=tx.context.user_id, **fields)
        .returning(*custom_line_items.columns)
    )
    return CustomItemRecord(**(await tx.execute(statement)).one()._mapping)


async def custom_items_of(tx: RequestTransaction, tenant_id: UUID) -> list[CustomItemRecord]:
    statement = (
        select(custom_line_items)
        .where(custom_line_items.c.tenant_id == tenant_id)
        .order_by(custom_line_items.c.created_at, custom_line_items.c.id)
    )
    return [CustomItemRecord(**r._mapping) for r in (await tx.execute(statement)).all()]


# -- exchange rates, categories, issuer ---------------------------------------------------------------------


async def upsert_rate(
    tx: RequestTransaction,
    tenant_id: UUID,
    period: str,
    currency: str,
    rate: Decimal,
    rate_date: date | None = None,
    source: str = "",
) -> ExchangeRateRecord:
    values = {"rate": rate, "rate_date": rate_date, "source": source}
    upsert = pg_insert(exchange_rates).values(tenant_id=tenant_id, period=period, currency=currency, **values)
    statement = upsert.on_conflict_do_update(
        index_elements=[exchange_rates.c.tenant_id, exchange_rates.c.period, exchange_rates.c.currency],
        set_={**values, "updated_at": func.now()},
    ).returning(*exchange_rates.columns)
    return ExchangeRateRecord(**(await tx.execute(statement)).one()._mapping)


async def rates_for(tx: RequestTransaction, tenant_id: UUID, period: str) -> dict[str, Decimal]:
    statement = select(exchange_rates.c.currency, exchange_rates.c.rate).where(
        exchange_rates.c.tenant_id == tenant_id, exchange_rates.c.period == period
    )
    return {r.currency: Decimal(r.rate) for r in (await tx.execute(statement)).all()}


async def rate_records_for(tx: RequestTransaction, tenant_id: UUID, period: str) -> list[ExchangeRateRecord]:
    statement = select(exchange_rates).where(exchange_rates.c.tenant_id == tenant_id, exchange_rates.c.period == period)
    return [ExchangeRateRecord(**r._mapping) for r in (await tx.execute(statement)).all()]


async def upsert_tax_rate(
    tx: RequestTransaction, tenant_id: UUID, category: str, valid_from: str, fields: dict[str, Any]
) -> TaxRateRecord:
    upsert = pg_insert(tax_rates).values(tenant_id=tenant_id, category=category, valid_from=valid_from, **fields)
    statement = upsert.on_conflict_do_update(
        index_elements=[tax_rates.c.tenant_id, tax_rates.c.category, tax_rates.c.valid_from],
        set_={**fields, "updated_at": func.now()},
    ).returning(*tax_rates.columns)
    return TaxRateRecord(**(await tx.execute(statement)).one()._mapping)


async def tax_rates_of(tx: RequestTransaction, tenant_id: UUID) -> list[TaxRateRecord]:
    statement = (
        select(tax_rates)
        .where(tax_rates.c.tenant_id == tenant_id)
        .order_by(tax_rates.c.category, tax_rates.c.valid_from)
    )
    return [TaxRateRecord(**r._mapping) for r in (await tx.execute(statement)).all()]


async def upsert_category(
    tx: RequestTransaction, tenant_id: UUID, name: str, definition: dict[str, Any]
) -> CostCategoryRecord:
    upsert = pg_insert(cost_categories).values(tenant_id=tenant_id, name=name, definition=definition)
    statement = upsert.on_conflict_do_update(
        index_elements=[cost_categories.c.tenant_id, cost_categories.c.name],
        set_={"definition": definition, "updated_at": func.now()},
    ).returning(*cost_categories.columns)
    return CostCategoryRecord(**(await tx.execute(statement)).one()._mapping)


async def category_by_name(tx: RequestTransaction, tenant_id: UUID, name: str) -> CostCategoryRecord | None:
    statement = select(cost_categories).where(cost_categories.c.tenant_id == tenant_id, cost_categories.c.name == name)
    row = (await tx.execute(statement)).first()
    return CostCategoryRecord(**row._mapping) if row else None


async def upsert_issuer(tx: RequestTransaction, tenant_id: UUID, fields: dict[str, Any]) -> BillingIssuerRecord:
    upsert = pg_insert(billing_issuers).values(tenant_id=tenant_id, **fields)
    statement = upsert.on_conflict_do_update(
        index_elements=[billing_issuers.c.tenant_id], set_={**fields, "updated_at": func.now()}
    ).returning(*billing_issuers.columns)
    return BillingIssuerRecord(**(await tx.execute(statement)).one()._mapping)


async def issuer_of(tx: RequestTransaction, tenant_id: UUID) -> BillingIssuerRecord | None:
    row = (await tx.execute(select(billing_issuers).where(billing_issuers.c.tenant_id == tenant_id))).first()
    return BillingIssuerRecord(**row._mapping) if row else None


async def billed_tenant_ids(tx: RequestTransaction) -> list[UUID]:
    """The tenants the acting operator bills (empty unless the context is one of its billing admins)."""
    rows = (await tx.execute(text("select unnest(app.billed_tenants())"))).all()
    return [r[0] for r in rows]


# -- billing groups -----------------------------------------------------------------------------------------


async def assignment_history(tx: RequestTransaction, tenant_ids: Sequence[UUID]) -> list[Any]:
    """Every interval (any tenant's) of the accounts that were ever assigned to one of `tenant_ids`, as far as
    the policies show them: rows with account_id, tenant_id, valid_from, valid_to."""
    a = cloud_account_assignments
    touched = select(a.c.account_id).where(a.c.tenant_id.in_(list(tenant_ids)))
    statement = (
        select(a.c.account_id, a.c.tenant_id, a.c.valid_from, a.c.valid_to)
        .where(a.c.account_id.in_(touched))
        .order_by(a.c.account_id, a.c.valid_from)
    )
    return list((await tx.execute(statement)).all())
