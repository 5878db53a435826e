"""Billing configuration by an operator's billing admins: pricing plans and their versions, customer billing
settings, custom line items, exchange rates, cost categories and the operator's issuer details.

Plans and categories are validated by the engine's own constructors before they are stored, so a stored
definition always loads. Writes go through the policies (the operator's billing admins, its billed tenants).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from cost.billing import (
    CostCategories,
    CustomItem,
    Exclusions,
    PlanVersion,
    Rule,
)
from cost.billing.definitions import categories_from_json, categories_to_json, plan_to_json
from cost.billing.errors import BillingError
from cost.billing.money import minor_units
from db.billing_records import (
    BillingIssuerRecord,
    CostCategoryRecord,
    CustomerBillingRecord,
    CustomItemRecord,
    ExchangeRateRecord,
    PlanVersionRecord,
    PricingPlanRecord,
)
from db.errors import ConstraintViolation, PolicyViolation, UniqueViolation
from db.pagination import Page
from db.queries import billing
from policies.principal import TenantKind
from resolvers.amounts import period_of
from resolvers.context import RequestContext
from resolvers.errors import Conflict, Forbidden, InvalidInput, NotFound
from resolvers.invoices import BILLING_ADMINS, billed_customer
from resolvers.pages import PageRequest


@dataclass(frozen=True)
class PlanWithVersions:
    plan: PricingPlanRecord
    versions: tuple[PlanVersionRecord, ...]


def _operator(ctx: RequestContext) -> UUID:
    return ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR).id


def _currency(value: str, field: str = "currency") -> str:
    value = value.strip().upper()
    try:
        minor_units(value)
    except BillingError:
        raise InvalidInput(f"unknown currency {value!r}", field=field) from None
    return value


async def create_pricing_plan(
    ctx: RequestContext,
    name: str,
    valid_from: str,
    rules: Sequence[Rule],
    exclusions: Exclusions,
    commitments: str,
    currency: str,
    rounding: str,
) -> PlanWithVersions:
    """A new plan with its first version in force from `valid_from`."""
    operator = _operator(ctx)
    if not name.strip():
        raise InvalidInput("a plan needs a name", field="name")
    definition = _definition(valid_from, rules, exclusions, commitments, currency, rounding)
    async with ctx.tx.savepoint():
        try:
            plan = await billing.insert_plan(ctx.tx, operator, name.strip())
            version = await billing.insert_plan_version(ctx.tx, plan, valid_from, definition)
        except UniqueViolation as error:
            raise Conflict(f"your operator has a plan named {name!r} already") from error
        except PolicyViolation as error:
            raise Forbidden("only billing admins create pricing plans") from error
    return PlanWithVersions(plan, (version,))


async def add_plan_version(
    ctx: RequestContext,
    plan_id: UUID,
    valid_from: str,
    rules: Sequence[Rule],
    exclusions: Exclusions,
    commitments: str,
    currency: str,
    rounding: str,
) -> PlanWithVersions:
    """The plan's next version, in force from `valid_from` (earlier periods keep the version they had)."""
    _operator(ctx)
    plan = await billing.plan_by_id(ctx.tx, plan_id)
    if plan is None:
        raise NotFound(f"no pricing plan {plan_id} is visible to you")
    definition = _definition(valid_from, rules, exclusions, commitments, currency, rounding)
    async with ctx.tx.savepoint():
        try:
            await billing.insert_plan_version(ctx.tx, plan, valid_from, definition)
        except UniqueViolation as error:
            raise Conflict(f"plan {plan.name!r} has a version from {valid_from} already") from error
    return PlanWithVersions(plan, tuple(await billing.plan_versions(ctx.tx, [plan.id])))


def _definition(
    valid_from: str,
    rules: Sequence[Rule],
    exclusions: Exclusions,
    commitments: str,
    currency: str,
    rounding: str,
) -> dict[str, Any]:
    period_of(valid_from, "validFrom")
    try:
        version = PlanVersion(
            id="new",
            rules=tuple(rules),
            exclusions=exclusions,
            commitments=commitments,
            currency=_currency(currency),
            rounding=rounding,
            valid_from=valid_from,
        )
    except (BillingError, ValueError) as error:
        raise InvalidInput(f"invalid plan: {error}", field="rules") from error
    return plan_to_json(version)


def make_rule(scope: str, adjustment: str, percent: Decimal, value: str | None, base: str) -> Rule:
    try:
        return Rule(scope=scope, adjustment=adjustment, percent=percent, value=value, base=base)
    except (BillingError, ValueError) as error:
        raise InvalidInput(f"invalid rule: {error}", field="rules") from error


async def pricing_plans(ctx: RequestContext, page: PageRequest) -> Page[PlanWithVersions]:
    operator = _operator(ctx)
    found = await billing.plans_page(ctx.tx, operator, page.after, page.first)
    versions = await billing.plan_versions(ctx.tx, [p.id for p in found.items])
    return Page(
        items=[PlanWithVersions(p, tuple(v for v in versions if v.plan_id == p.id)) for p in found.items],
        has_next=found.has_next,
    )


async def set_customer_billing(ctx: RequestContext, tenant_slug: str, fields: dict[str, Any]) -> CustomerBillingRecord:
    """Create or update a billed tenant's settings; only the fields given change."""
    operator = _operator(ctx)
    customer = await billed_customer(ctx.tx, tenant_slug)
    values = {k: v for k, v in fields.items() if v is not None}
    if "currency" in values:
        values["currency"] = _currency(values["currency"])
    rate = values.get("tax_rate_percent")
    if rate is not None and not Decimal(0) <= rate <= Decimal(100):
        raise InvalidInput("the tax rate is a percentage between 0 and 100", field="taxRatePercent")
    if "plan_id" in values and await billing.plan_by_id(ctx.tx, values["plan_id"]) is None:
        raise NotFound(f"no pricing plan {values['plan_id']} is visible to you")
    async with ctx.tx.savepoint():
        try:
            return await billing.upsert_customer_billing(ctx.tx, customer.id, operator, values)
        except PolicyViolation as error:
            raise Forbidden(f"your operator does not bill {tenant_slug}") from error
        except ConstraintViolation as error:
            raise InvalidInput(f"invalid billing settings: {error}") from error


async def assign_pricing_plan(ctx: RequestContext, tenant_slug: str, plan_id: UUID) -> CustomerBillingRecord:
    return await set_customer_billing(ctx, tenant_slug, {"plan_id": plan_id})


async def customer_billing(ctx: RequestContext, tenant_slug: str) -> CustomerBillingRecord | None:
    _operator(ctx)
    customer = await billed_customer(ctx.tx, tenant_slug)
    return (await billing.customer_billing_of(ctx.tx, [customer.id])).get(customer.id)


async def add_custom_line_item(
    ctx: RequestContext,
    tenant_slug: str,
    description: str,
    kind: str,
    amount_type: str,
    value: Decimal,
    period: str,
    recurrence: str,
    until: str | None,
    currency: str | None,
) -> CustomItemRecord:
    operator = _operator(ctx)
    customer = await billed_customer(ctx.tx, tenant_slug)
    try:
        item = CustomItem(
            description=description.strip(),
            kind=kind,
            amount_type=amount_type,
            value=value,
            period=period,
            recurrence=recurrence,
            until=until,
            currency=None if currency is None else _currency(currency),
        )
    except (BillingError, ValueError) as error:
        raise InvalidInput(f"invalid line item: {error}", field="value") from error
    if not item.description:
        raise InvalidInput("a line item needs a description", field="description")
    fields = {
        "description": item.description,
        "kind": str(item.kind),
        "amount_type": str(item.amount_type),
        "value": item.value,
        "period": item.period,
        "recurrence": str(item.recurrence),
        "until": item.until,
        "currency": item.currency,
    }
    async with ctx.tx.savepoint():
        try:
            return await billing.insert_custom_item(ctx.tx, customer.id, operator, fields)
        except PolicyViolation as error:
            raise Forbidden(f"your operator does not bill {tenant_slug}") from error


async def set_exchange_rate(ctx: RequestContext, period: str, currency: str, rate: Decimal) -> ExchangeRateRecord:
    """Units of `currency` for one USD (the CUR's currency) in `period`."""
    operator = _operator(ctx)
    period = period_of(period)
    if not rate.is_finite() or rate <= 0:
        raise InvalidInput("a rate is a positive number", field="rate")
    async with ctx.tx.savepoint():
        try:
            return await billing.upsert_rate(ctx.tx, operator, period, _currency(currency), rate)
        except PolicyViolation as error:
            raise Forbidden("only billing admins set exchange rates") from error


async def set_cost_category(ctx: RequestContext, name: str, definition: dict[str, Any]) -> CostCategoryRecord:
    operator = _operator(ctx)
    if not name.strip():
        raise InvalidInput("a cost category set needs a name", field="name")
    try:
        categories: CostCategories = categories_from_json(definition)
    except (BillingError, ValueError) as error:
        raise InvalidInput(f"invalid cost categories: {error}", field="definition") from error
    async with ctx.tx.savepoint():
        try:
            return await billing.upsert_category(ctx.tx, operator, name.strip(), categories_to_json(categories))
        except PolicyViolation as error:
            raise Forbidden("only billing admins define cost categories") from error


async def set_billing_issuer(ctx: RequestContext, fields: dict[str, Any]) -> BillingIssuerRecord:
    operator = _operator(ctx)
    values = {k: v for k, v in fields.items() if v is not None}
    if not (values.get("legal_name") or "").strip():
        raise InvalidInput("the issuer needs a legal name", field="legalName")
    async with ctx.tx.savepoint():
        try:
            return await billing.upsert_issuer(ctx.tx, operator, values)
        except PolicyViolation as error:
            raise Forbidden("only billing admins set the issuer details") from error
