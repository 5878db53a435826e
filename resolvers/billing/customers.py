"""A billed tenant's billing settings (plan, currency, tax, parties, terms) and its custom line items, set by
its operator's billing admins through the policies."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from cost.billing import (
    CustomItem,
)
from cost.billing.errors import BillingError
from cost.billing.plans import ItemAmount, ItemKind, Recurrence
from db.billing_records import (
    CustomerBillingRecord,
    CustomItemRecord,
)
from db.errors import ConstraintViolation, PolicyViolation
from db.queries import billing
from resolvers.billing.access import billed_customer, billing_operator
from resolvers.billing.inputs import bounded_text, check_payment_terms, currency_code, engine_enum, tax_category_code
from resolvers.common.context import RequestContext
from resolvers.common.errors import Forbidden, InvalidInput, NotFound
from resolvers.global_ids import encode_global_id


async def set_customer_billing(ctx: RequestContext, tenant_slug: str, fields: dict[str, Any]) -> CustomerBillingRecord:
    """Create or update a billed tenant's settings; only the fields given change."""
    operator = billing_operator(ctx)
    customer = await billed_customer(ctx.tx, tenant_slug)
    values = {k: v for k, v in fields.items() if v is not None}
    if "currency" in values:
        values["currency"] = currency_code(values["currency"])
    rate = values.get("tax_rate_percent")
    if rate is not None and not Decimal(0) <= rate <= Decimal(100):
        raise InvalidInput("the tax rate is a percentage between 0 and 100", field="taxRatePercent")
    if "tax_category" in values:
        values["tax_category"] = tax_category_code(values["tax_category"])
    if "tax_id" in values:
        values["tax_id"] = bounded_text(values["tax_id"], 100, "taxId")
    check_payment_terms(values.get("payment_terms_days"))
    if "plan_id" in values and await billing.plan_by_id(ctx.tx, values["plan_id"]) is None:
        raise NotFound(f"no pricing plan {encode_global_id('PricingPlan', values['plan_id'])} is visible to you")
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
    billing_operator(ctx)
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
    operator = billing_operator(ctx)
    customer = await billed_customer(ctx.tx, tenant_slug)
    tax_category = None if tax_category is None else tax_category_code(tax_category)
    try:
        item = CustomItem(
            description=description.strip(),
            kind=engine_enum(ItemKind, kind, "kind"),
            amount_type=engine_enum(ItemAmount, amount_type, "amountType"),
            value=value,
            period=period,
            recurrence=engine_enum(Recurrence, recurrence, "recurrence"),
            until=until,
            currency=None if currency is None else currency_code(currency),
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
