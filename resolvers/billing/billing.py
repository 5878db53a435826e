"""Billing configuration by an operator's billing admins: pricing plans and their versions, customer billing
settings, custom line items, exchange rates, cost categories and the operator's issuer details.

Plans and categories are validated by the engine's own constructors before they are stored, so a stored
definition always loads. Writes go through the policies (the operator's billing admins, its billed tenants).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
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
from cost.billing.tax import check_category, valid_registration_number
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
from db.errors import ConstraintViolation, PolicyViolation, UniqueViolation
from db.pagination import Page
from db.queries import billing
from policies.principal import TenantKind
from resolvers.billing.drafts import BILLING_ADMINS, billed_customer
from resolvers.common.amounts import period_of
from resolvers.common.context import RequestContext
from resolvers.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from resolvers.common.pages import PageRequest


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
    found = await billing.plans_page(ctx.tx, operator, page)
    versions = await billing.plan_versions(ctx.tx, [p.id for p in found.items])
    return found.with_items([PlanWithVersions(p, tuple(v for v in versions if v.plan_id == p.id)) for p in found.items])


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
    if "tax_category" in values:
        values["tax_category"] = _category(values["tax_category"])
    if "tax_id" in values:
        values["tax_id"] = _text(values["tax_id"], 100, "taxId")
    _terms(values.get("payment_terms_days"))
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
    tax_category: str | None = None,
) -> CustomItemRecord:
    operator = _operator(ctx)
    customer = await billed_customer(ctx.tx, tenant_slug)
    tax_category = None if tax_category is None else _category(tax_category)
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
            tax_category=tax_category,
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
        "tax_category": item.tax_category,
    }
    async with ctx.tx.savepoint():
        try:
            return await billing.insert_custom_item(ctx.tx, customer.id, operator, fields)
        except PolicyViolation as error:
            raise Forbidden(f"your operator does not bill {tenant_slug}") from error


async def set_exchange_rate(
    ctx: RequestContext,
    period: str,
    currency: str,
    rate: Decimal,
    rate_date: date | None = None,
    source: str = "",
) -> ExchangeRateRecord:
    """Units of `currency` for one USD (the CUR's currency) in `period`, with the date and source of the rate."""
    operator = _operator(ctx)
    period = period_of(period)
    if not rate.is_finite() or rate <= 0:
        raise InvalidInput("a rate is a positive number", field="rate")
    source = _text(source, 200, "source")
    async with ctx.tx.savepoint():
        try:
            return await billing.upsert_rate(ctx.tx, operator, period, _currency(currency), rate, rate_date, source)
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


async def set_tax_rate(
    ctx: RequestContext, category: str, valid_from: str, rate_percent: Decimal, name: str, reduced: bool
) -> TaxRateRecord:
    """The rate of `category` from `valid_from` on (a later row for the same category supersedes it)."""
    operator = _operator(ctx)
    category = _category(category)
    period_of(valid_from, "validFrom")
    if not rate_percent.is_finite() or not Decimal(0) <= rate_percent <= Decimal(100):
        raise InvalidInput("a tax rate is a percentage between 0 and 100", field="ratePercent")
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput("a tax rate needs a name of 1 to 100 characters", field="name")
    fields = {"rate_percent": rate_percent, "name": name, "reduced": reduced}
    async with ctx.tx.savepoint():
        try:
            return await billing.upsert_tax_rate(ctx.tx, operator, category, valid_from, fields)
        except PolicyViolation as error:
            raise Forbidden("only billing admins set tax rates") from error


def _category(value: str) -> str:
    try:
        return check_category(value.strip())
    except BillingError as error:
        raise InvalidInput(str(error), field="taxCategory") from None


def _text(value: str, limit: int, field: str) -> str:
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"at most {limit} characters", field=field)
    return value


def _terms(days: int | None) -> None:
    if days is not None and not 0 <= days <= 365:
        raise InvalidInput("payment terms are 0 to 365 days", field="paymentTermsDays")


async def set_billing_issuer(ctx: RequestContext, fields: dict[str, Any]) -> BillingIssuerRecord:
    """The operator's details on its invoices. A registration number is Japan's qualified-invoice issuer
    number (T + 13 digits, check digit verified here and by the database)."""
    operator = _operator(ctx)
    values = {k: v for k, v in fields.items() if v is not None}
    if not (values.get("legal_name") or "").strip():
        raise InvalidInput("the issuer needs a legal name", field="legalName")
    number = values.get("registration_number")
    if number is not None:
        number = values["registration_number"] = number.strip()
        if number and not valid_registration_number(number):
            raise InvalidInput(
                f"{number!r} is not a registration number: T and 13 digits with a valid check digit",
                field="registrationNumber",
            )
    jurisdiction = values.get("jurisdiction")
    if jurisdiction is not None:
        jurisdiction = values["jurisdiction"] = jurisdiction.strip().upper()
        if jurisdiction and not (len(jurisdiction) == 2 and jurisdiction.isascii() and jurisdiction.isalpha()):
            raise InvalidInput("a jurisdiction is an ISO 3166 country code such as JP", field="jurisdiction")
    if jurisdiction == "JP" and values.get("tax_rounding", "PER_RATE") != "PER_RATE":
        raise InvalidInput("Japan rounds consumption tax once per invoice and rate (PER_RATE)", field="taxRounding")
    _terms(values.get("payment_terms_days"))
    for key, limit, name in (("payment_details", 2000, "paymentDetails"), ("reverse_charge_note", 500,
                                                                            "reverseChargeNote")):
        if key in values:
            values[key] = _text(values[key], limit, name)
    async with ctx.tx.savepoint():
        try:
            return await billing.upsert_issuer(ctx.tx, operator, values)
        except PolicyViolation as error:
            raise Forbidden("only billing admins set the issuer details") from error
        except ConstraintViolation as error:
            raise InvalidInput(f"invalid issuer details: {error}") from error
