"""What an operator sets once for all its invoices: exchange rates, cost categories, tax rates and its issuer
details. Categories are validated by the engine before they are stored; writes go through the policies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from cost.billing import (
    CostCategories,
)
from cost.billing.definitions import categories_from_json, categories_to_json
from cost.billing.errors import BillingError
from cost.billing.tax import valid_registration_number
from db.billing_records import (
    BillingIssuerRecord,
    CostCategoryRecord,
    ExchangeRateRecord,
    TaxRateRecord,
)
from db.errors import ConstraintViolation, PolicyViolation
from db.queries import billing
from resolvers.billing.access import billing_operator
from resolvers.billing.inputs import bounded_text, check_payment_terms, currency_code, tax_category_code
from resolvers.common.amounts import period_of
from resolvers.common.context import RequestContext
from resolvers.common.errors import Forbidden, InvalidInput


async def set_exchange_rate(
    ctx: RequestContext,
    period: str,
    currency: str,
    rate: Decimal,
    rate_date: date | None = None,
    source: str = "",
) -> ExchangeRateRecord:
    """Units of `currency` for one USD (the CUR's currency) in `period`, with the date and source of the rate."""
    operator = billing_operator(ctx)
    period = period_of(period)
    if not rate.is_finite() or rate <= 0:
        raise InvalidInput("a rate is a positive number", field="rate")
    source = bounded_text(source, 200, "source")
    async with ctx.tx.savepoint():
        try:
            return await billing.upsert_rate(ctx.tx, operator, period, currency_code(currency), rate, rate_date, source)
        except PolicyViolation as error:
            raise Forbidden("only billing admins set exchange rates") from error


async def set_cost_category(ctx: RequestContext, name: str, definition: dict[str, Any]) -> CostCategoryRecord:
    operator = billing_operator(ctx)
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
    operator = billing_operator(ctx)
    category = tax_category_code(category)
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


async def set_billing_issuer(ctx: RequestContext, fields: dict[str, Any]) -> BillingIssuerRecord:
    """The operator's details on its invoices. A registration number is Japan's qualified-invoice issuer
    number (T + 13 digits, check digit verified here and by the database)."""
    operator = billing_operator(ctx)
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
    check_payment_terms(values.get("payment_terms_days"))
    for key, limit, name in (
        ("payment_details", 2000, "paymentDetails"),
        ("reverse_charge_note", 500, "reverseChargeNote"),
    ):
        if key in values:
            values[key] = bounded_text(values[key], limit, name)
    async with ctx.tx.savepoint():
        try:
            return await billing.upsert_issuer(ctx.tx, operator, values)
        except PolicyViolation as error:
            raise Forbidden("only billing admins set the issuer details") from error
        except ConstraintViolation as error:
            raise InvalidInput(f"invalid issuer details: {error}") from error
