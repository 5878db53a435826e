"""Mutations of the billing domain. Each returns a union of its result and the expected problems."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from cost.billing import CommitmentTreatment, Exclusions, ItemAmount, ItemKind, Recurrence, Rounding
from resolvers.billing import closing, customers, drafts, operator_settings, plans, voiding
from resolvers.billing import jobs as billing_jobs
from resolvers.common.context import RequestContext
from resolvers.common.errors import InvalidInput
from resolvers.global_ids import decode_global_id
from schema.outcomes import outcome
from schema.types.billing import (
    BillingIssuerInput,
    BillingParty,
    CostCategorySet,
    CustomerBilling,
    CustomerBillingInput,
    CustomLineItem,
    ExchangeRate,
    ExclusionsInput,
    Invoice,
    InvoiceAlreadyClosed,
    InvoiceRun,
    InvoiceVoided,
    PeriodHasNoData,
    PricingPlan,
    PricingRuleInput,
    TaxRate,
)
from schema.types.problems import ConflictProblem, InvalidInputProblem, NotAllowed, NotFoundProblem

Ctx = Info[RequestContext, None]
T = TypeVar("T")

CloseInvoiceResult = Annotated[
    Invoice | InvoiceAlreadyClosed | PeriodHasNoData | NotAllowed | InvalidInputProblem | NotFoundProblem,
    strawberry.union("CloseInvoiceResult"),
]
CloseInvoicesResult = Annotated[InvoiceRun | NotAllowed | InvalidInputProblem, strawberry.union("CloseInvoicesResult")]
VoidInvoiceResult = Annotated[
    InvoiceVoided | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("VoidInvoiceResult"),
]
PricingPlanResult = Annotated[
    PricingPlan | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("PricingPlanResult"),
]
CustomerBillingResult = Annotated[
    CustomerBilling | NotAllowed | NotFoundProblem | InvalidInputProblem, strawberry.union("CustomerBillingResult")
]
CustomLineItemResult = Annotated[
    CustomLineItem | NotAllowed | NotFoundProblem | InvalidInputProblem, strawberry.union("CustomLineItemResult")
]
ExchangeRateResult = Annotated[ExchangeRate | NotAllowed | InvalidInputProblem, strawberry.union("ExchangeRateResult")]
CostCategoriesResult = Annotated[
    CostCategorySet | NotAllowed | InvalidInputProblem, strawberry.union("CostCategoriesResult")
]
TaxRateResult = Annotated[TaxRate | NotAllowed | InvalidInputProblem, strawberry.union("TaxRateResult")]
BillingIssuerResult = Annotated[
    BillingParty | NotAllowed | InvalidInputProblem, strawberry.union("BillingIssuerResult")
]


async def _close_outcome(make: Callable[[], Awaitable[T]]) -> T | InvoiceAlreadyClosed | PeriodHasNoData:
    try:
        return await make()
    except closing.InvoiceAlreadyClosed as error:
        return InvoiceAlreadyClosed(message=error.message, invoice=Invoice.from_record(error.invoice))
    except drafts.PeriodHasNoData as error:
        return PeriodHasNoData(message=error.message, tenant_slug=error.tenant_slug, period=error.period)


def _rules(rules: list[PricingRuleInput]) -> list[Any]:
    return [plans.make_rule(r.scope.value, r.adjustment.value, r.percent, r.value, r.base.value) for r in rules]


def _exclusions(value: ExclusionsInput | None) -> Exclusions:
    if value is None:
        return Exclusions()
    return Exclusions(value.marketplace, value.support, value.tax, value.credits, frozenset(value.services))


@strawberry.type
class BillingMutation:
    @strawberry.mutation(
        description="Close the invoice of a tenant your operator bills for `period` (billing admins): computed "
        "from the current data, numbered, immutable from now on; the period is locked against imports. "
        "Idempotent: the same `idempotencyKey` returns the same invoice; a closed (tenant, period) answers "
        "InvoiceAlreadyClosed."
    )
    async def close_invoice(
        self, info: Ctx, tenant_slug: str, period: str, idempotency_key: str | None = None
    ) -> CloseInvoiceResult:
        async def run() -> Invoice:
            return Invoice.from_record(await closing.close_invoice(info.context, tenant_slug, period, idempotency_key))

        return await outcome(lambda: _close_outcome(run), (NotAllowed, InvalidInputProblem, NotFoundProblem))

    @strawberry.mutation(
        description="Close `period` for every tenant your operator bills, as a background job; follow it with "
        "`invoiceRun(id)` (billing admins)."
    )
    async def close_invoices(self, info: Ctx, period: str) -> CloseInvoicesResult:
        async def run() -> InvoiceRun:
            return InvoiceRun.from_record(await billing_jobs.queue_close_all(info.context, period))

        return await outcome(run, (NotAllowed, InvalidInputProblem))

    @strawberry.mutation(
        description="Void a closed invoice (billing admins): it stays as it is, marked void with the reason; a "
        "credit note cancels it and a new invoice for the same period, recomputed now, replaces it."
    )
    async def void_invoice(self, info: Ctx, id: strawberry.ID, reason: str) -> VoidInvoiceResult:
        async def run() -> InvoiceVoided:
            return InvoiceVoided.from_outcome(
                await voiding.void_invoice(info.context, decode_global_id("Invoice", id, "id"), reason)
            )

        return await outcome(run)

    @strawberry.mutation(description="A pricing plan with its first version, in force from `validFrom`.")
    async def create_pricing_plan(
        self,
        info: Ctx,
        name: str,
        valid_from: str,
        rules: list[PricingRuleInput],
        exclusions: ExclusionsInput | None = None,
        commitments: CommitmentTreatment = CommitmentTreatment.PASS_THROUGH,
        currency: str = "USD",
        rounding: Rounding = Rounding.HALF_UP,
    ) -> PricingPlanResult:
        async def run() -> PricingPlan:
            found = await plans.create_pricing_plan(
                info.context,
                name,
                valid_from,
                _rules(rules),
                _exclusions(exclusions),
                commitments.value,
                currency,
                rounding.value,
            )
            return PricingPlan.from_plan(found)

        return await outcome(run)

    @strawberry.mutation(description="The plan's next version, in force from `validFrom`.")
    async def add_pricing_plan_version(
        self,
        info: Ctx,
        plan_id: strawberry.ID,
        valid_from: str,
        rules: list[PricingRuleInput],
        exclusions: ExclusionsInput | None = None,
        commitments: CommitmentTreatment = CommitmentTreatment.PASS_THROUGH,
        currency: str = "USD",
        rounding: Rounding = Rounding.HALF_UP,
    ) -> PricingPlanResult:
        async def run() -> PricingPlan:
            found = await plans.add_plan_version(
                info.context,
                decode_global_id("PricingPlan", plan_id, "planId"),
                valid_from,
                _rules(rules),
                _exclusions(exclusions),
                commitments.value,
                currency,
                rounding.value,
            )
            return PricingPlan.from_plan(found)

        return await outcome(run)

    @strawberry.mutation(description="Bill a tenant under a plan (billing admins).")
    async def assign_pricing_plan(self, info: Ctx, tenant_slug: str, plan_id: strawberry.ID) -> CustomerBillingResult:
        async def run() -> CustomerBilling:
            record = await customers.assign_pricing_plan(
                info.context, tenant_slug, decode_global_id("PricingPlan", plan_id, "planId")
            )
            return CustomerBilling.from_record(record)

        return await outcome(run, (NotAllowed, NotFoundProblem, InvalidInputProblem))

    @strawberry.mutation(description="A billed tenant's invoice currency, tax and legal details (billing admins).")
    async def set_customer_billing(
        self, info: Ctx, tenant_slug: str, settings: CustomerBillingInput
    ) -> CustomerBillingResult:
        async def run() -> CustomerBilling:
            fields = {
                "currency": settings.currency,
                "tax_rate_percent": settings.tax_rate_percent,
                "tax_name": settings.tax_name,
                "legal_name": settings.legal_name,
                "address": settings.address,
                "email": settings.email,
                "tax_id": settings.tax_id,
                "tax_category": settings.tax_category,
                "provider_tax": None if settings.provider_tax is None else settings.provider_tax.value,
                "reverse_charge": settings.reverse_charge,
                "payment_terms_days": settings.payment_terms_days,
            }
            return CustomerBilling.from_record(await customers.set_customer_billing(info.context, tenant_slug, fields))

        return await outcome(run, (NotAllowed, NotFoundProblem, InvalidInputProblem))

    @strawberry.mutation(
        description="A fee or credit on a tenant's invoices: FLAT (an amount) or PERCENT (of the rated subtotal); "
        "ONE_OFF in `period`, or RECURRING from `period` through `until`."
    )
    async def add_custom_line_item(
        self,
        info: Ctx,
        tenant_slug: str,
        description: str,
        kind: ItemKind,
        amount_type: ItemAmount,
        value: Decimal,
        period: str,
        recurrence: Recurrence = Recurrence.ONE_OFF,
        until: str | None = None,
        currency: str | None = None,
        tax_category: Annotated[
            str | None, strawberry.argument(description="One of your tax rates' categories; none: the tenant's.")
        ] = None,
    ) -> CustomLineItemResult:
        async def run() -> CustomLineItem:
            record = await customers.add_custom_line_item(
                info.context,
                tenant_slug,
                description,
                kind.value,
                amount_type.value,
                value,
                period,
                recurrence.value,
                until,
                currency,
                tax_category,
            )
            return CustomLineItem.from_record(record)

        return await outcome(run, (NotAllowed, NotFoundProblem, InvalidInputProblem))

    @strawberry.mutation(
        description="Units of `currency` for one USD in `period` (billing admins); `rateDate` and `source` are "
        "printed on invoices converted with it."
    )
    async def set_exchange_rate(
        self,
        info: Ctx,
        period: str,
        currency: str,
        rate: Decimal,
        rate_date: date | None = None,
        source: str | None = None,
    ) -> ExchangeRateResult:
        async def run() -> ExchangeRate:
            record = await operator_settings.set_exchange_rate(
                info.context, period, currency, rate, rate_date, source or ""
            )
            return ExchangeRate.from_record(record)

        return await outcome(run, (NotAllowed, InvalidInputProblem))

    @strawberry.mutation(
        description="The tax rate of a category from `validFrom` on (billing admins); later periods keep the latest "
        "rate in force. A customer's category (default `standard`) and a line item's pick the rate."
    )
    async def set_tax_rate(
        self,
        info: Ctx,
        category: str,
        valid_from: str,
        rate_percent: Decimal,
        name: str,
        reduced: bool = False,
    ) -> TaxRateResult:
        async def run() -> TaxRate:
            record = await operator_settings.set_tax_rate(
                info.context, category, valid_from, rate_percent, name, reduced
            )
            return TaxRate.from_record(record)

        return await outcome(run, (NotAllowed, InvalidInputProblem))

    @strawberry.mutation(
        description="Create or replace a named set of cost-category rules (billing admins): "
        '{"rules": [{"type": "category"|"shared", ...}], "default": "..."}.'
    )
    async def set_cost_categories(self, info: Ctx, name: str, definition: JSON) -> CostCategoriesResult:
        async def run() -> CostCategorySet:
            if not isinstance(definition, dict):
                raise InvalidInput("the definition is a JSON object", field="definition")
            record = await operator_settings.set_cost_category(info.context, name, definition)
            return CostCategorySet.from_record(record)

        return await outcome(run, (NotAllowed, InvalidInputProblem))

    @strawberry.mutation(description="Your operator's details printed on its invoices (billing admins).")
    async def set_billing_issuer(self, info: Ctx, issuer: BillingIssuerInput) -> BillingIssuerResult:
        async def run() -> BillingParty:
            fields = {
                "legal_name": issuer.legal_name,
                "address": issuer.address,
                "tax_id": issuer.tax_id,
                "email": issuer.email,
                "registration_number": issuer.registration_number,
                "jurisdiction": issuer.jurisdiction,
                "payment_terms_days": issuer.payment_terms_days,
                "payment_details": issuer.payment_details,
                "provider_tax": None if issuer.provider_tax is None else issuer.provider_tax.value,
                "tax_rounding": None if issuer.tax_rounding is None else issuer.tax_rounding.value,
                "reverse_charge_note": issuer.reverse_charge_note,
            }
            return BillingParty.from_issuer(await operator_settings.set_billing_issuer(info.context, fields))

        return await outcome(run, (NotAllowed, InvalidInputProblem))
