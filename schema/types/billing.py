"""Billing types: pricing plans, customer settings, custom items, rates, invoices, runs, margins.
Amounts are `Decimal` (strings) in the invoice's `currency`."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from cost.billing import (
    Adjustment,
    Base,
    CommitmentTreatment,
    InvoiceDraft,
    ItemAmount,
    ItemKind,
    LineKind,
    Recurrence,
    Rounding,
    Scope,
)
from cost.billing import InvoiceLine as DraftLine
from cost.billing.tax import ProviderTax, TaxRounding
from db.billing_records import (
    BillingIssuerRecord,
    CostCategoryRecord,
    CustomerBillingRecord,
    CustomItemRecord,
    ExchangeRateRecord,
    InvoiceKind,
    InvoiceLineRecord,
    InvoiceRecord,
    InvoiceRunRecord,
    InvoiceRunStatus,
    InvoiceStatus,
    PlanVersionRecord,
    TaxRateRecord,
)
from resolvers.billing.margins import MarginLine
from resolvers.billing.plans import PlanWithVersions
from resolvers.billing.voiding import Voided
from resolvers.common.context import RequestContext
from schema.types.decimals import money_amount
from schema.types.node import Node, optional_global_id
from schema.types.problems import Problem
from schema.types.tenancy import Tenant, load_tenant


def _plain(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(format(Decimal(value), "f"))


def _money(value: Decimal | str, currency: str) -> Decimal:
    return money_amount(Decimal(value), currency)


# The engine's enums are the GraphQL enums (GraphQL names them by member name): registered once, typed by class.
strawberry.enum(
    ProviderTax,
    name="ProviderTaxTreatment",
    description="How the provider's own tax lines (AWS tax the operator paid) are billed: REPLACE "
    "(dropped; your tax applies to your supply), PASS_THROUGH (a line of its own, untaxed) or "
    "BILL_AS_COST (a usage line, taxed like usage).",
)
strawberry.enum(
    TaxRounding,
    name="TaxRoundingRule",
    description="PER_RATE: tax rounded once per invoice and rate (required in Japan); PER_LINE: "
    "each line's tax rounded, then summed.",
)
strawberry.enum(LineKind, name="InvoiceLineKind")
strawberry.enum(Scope, name="RuleScope")
strawberry.enum(Adjustment, name="RuleAdjustment")
strawberry.enum(
    CommitmentTreatment,
    name="CommitmentTreatment",
    description="RI / Savings Plan benefit: pass it through, keep it, or assign it per tenant.",
)
strawberry.enum(Rounding, name="RoundingMode")
strawberry.enum(ItemKind, name="ItemKind")
strawberry.enum(ItemAmount, name="ItemAmountType")
strawberry.enum(Recurrence, name="ItemRecurrence")


strawberry.enum(InvoiceStatus, name="InvoiceStatus")
strawberry.enum(InvoiceKind, name="InvoiceKind")


@strawberry.enum(description="HTML or PDF; the document comes back base64-encoded.")
class DocumentFormat(enum.Enum):
    HTML = "HTML"
    PDF = "PDF"


@strawberry.enum
class MarginGroupBy(enum.Enum):
    TENANT = "TENANT"
    SERVICE = "SERVICE"


strawberry.enum(
    Base, name="RuleBase", description="ACTUAL: the operator's amortised cost; PUBLIC_ON_DEMAND: the list price."
)


@strawberry.input(description="A pricing rule; the most specific matching rule wins (SKU > usage type > service).")
class PricingRuleInput:
    scope: Scope
    adjustment: Adjustment
    percent: Decimal
    value: str | None = strawberry.field(default=None, description="Service, usage type or SKU; none for GLOBAL.")
    base: Base = Base.ACTUAL


@strawberry.input(description="Rows billed at exactly their cost, outside the rules. All on by default.")
class ExclusionsInput:
    marketplace: bool = True
    support: bool = True
    tax: bool = True
    credits: bool = True
    services: list[str] = strawberry.field(default_factory=list)


@strawberry.input(description="Only the fields given change.")
class CustomerBillingInput:
    currency: str | None = None
    tax_rate_percent: Decimal | None = None
    tax_name: str | None = None
    legal_name: str | None = None
    address: str | None = None
    email: str | None = None
    tax_id: str | None = strawberry.field(default=None, description="The customer's tax id, printed on invoices.")
    tax_category: str | None = strawberry.field(default=None, description="Picks the tax rate (default standard).")
    provider_tax: ProviderTax | None = strawberry.field(default=None, description="Default: the issuer's.")
    reverse_charge: bool | None = strawberry.field(default=None, description="Cross-border B2B: no tax, a note.")
    payment_terms_days: int | None = strawberry.field(default=None, description="Default: the issuer's.")


@strawberry.input
class BillingIssuerInput:
    legal_name: str
    address: str | None = None
    tax_id: str | None = None
    email: str | None = None
    registration_number: str | None = strawberry.field(
        default=None, description="Japan's qualified-invoice issuer number: T and 13 digits."
    )
    jurisdiction: str | None = strawberry.field(default=None, description="ISO 3166 country code, e.g. JP.")
    payment_terms_days: int | None = None
    payment_details: str | None = strawberry.field(default=None, description="Bank or payment details.")
    provider_tax: ProviderTax | None = None
    tax_rounding: TaxRounding | None = None
    reverse_charge_note: str | None = None


@strawberry.type
class PlanVersion:
    id: strawberry.ID
    version: int
    valid_from: str
    definition: JSON

    @classmethod
    def from_record(cls, record: PlanVersionRecord) -> PlanVersion:
        return cls(
            id=strawberry.ID(str(record.id)),
            version=record.version,
            valid_from=record.valid_from,
            definition=JSON(record.definition),
        )


@strawberry.type
class PricingPlan(Node):
    name: str
    versions: list[PlanVersion]

    @classmethod
    def from_plan(cls, found: PlanWithVersions) -> PricingPlan:
        return cls(
            db_id=found.plan.id,
            name=found.plan.name,
            versions=[PlanVersion.from_record(v) for v in found.versions],
        )


@strawberry.type(description="A billed tenant's plan, currency, tax and legal details.")
class CustomerBilling:
    plan_id: strawberry.ID | None
    currency: str
    tax_rate_percent: Decimal
    tax_name: str
    legal_name: str
    address: str
    email: str
    tax_id: str
    tax_category: str
    provider_tax: ProviderTax | None
    reverse_charge: bool
    payment_terms_days: int | None
    tenant_id: strawberry.Private[UUID]

    @classmethod
    def from_record(cls, record: CustomerBillingRecord) -> CustomerBilling:
        return cls(
            plan_id=optional_global_id("PricingPlan", record.plan_id),
            currency=record.currency,
            tax_rate_percent=Decimal(record.tax_rate_percent),
            tax_name=record.tax_name,
            legal_name=record.legal_name,
            address=record.address,
            email=record.email,
            tax_id=record.tax_id,
            tax_category=record.tax_category,
            provider_tax=None if record.provider_tax is None else ProviderTax(record.provider_tax),
            reverse_charge=record.reverse_charge,
            payment_terms_days=record.payment_terms_days,
            tenant_id=record.tenant_id,
        )

    @strawberry.field
    async def company(self, info: Info[RequestContext, None]) -> Tenant | None:
        return await load_tenant(info, self.tenant_id)


@strawberry.type
class CustomLineItem:
    id: strawberry.ID
    description: str
    kind: ItemKind
    amount_type: ItemAmount
    value: Decimal
    period: str
    recurrence: Recurrence
    until: str | None
    currency: str | None

    @classmethod
    def from_record(cls, record: CustomItemRecord) -> CustomLineItem:
        return cls(
            id=strawberry.ID(str(record.id)),
            description=record.description,
            kind=record.kind,
            amount_type=ItemAmount(record.amount_type),
            value=Decimal(record.value),
            period=record.period,
            recurrence=Recurrence(record.recurrence),
            until=record.until,
            currency=record.currency,
        )


@strawberry.type(description="Units of `currency` for one USD in `period`.")
class ExchangeRate:
    period: str
    currency: str
    rate: Decimal
    rate_date: date | None
    source: str

    @classmethod
    def from_record(cls, record: ExchangeRateRecord) -> ExchangeRate:
        return cls(
            period=record.period,
            currency=record.currency,
            rate=Decimal(record.rate),
            rate_date=record.rate_date,
            source=record.source,
        )


@strawberry.type(description="A tax category's rate from `validFrom` on.")
class TaxRate:
    category: str
    valid_from: str
    rate_percent: Decimal
    name: str
    reduced: bool

    @classmethod
    def from_record(cls, record: TaxRateRecord) -> TaxRate:
        return cls(
            category=record.category,
            valid_from=record.valid_from,
            rate_percent=Decimal(record.rate_percent),
            name=record.name,
            reduced=record.reduced,
        )


@strawberry.type
class CostCategorySet:
    id: strawberry.ID
    name: str
    definition: JSON

    @classmethod
    def from_record(cls, record: CostCategoryRecord) -> CostCategorySet:
        return cls(id=strawberry.ID(str(record.id)), name=record.name, definition=JSON(record.definition))


@strawberry.type
class BillingParty:
    name: str
    address: str
    tax_id: str
    email: str
    registration_number: str = strawberry.field(description="The issuer's qualified-invoice number (Japan).")

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, Any]) -> BillingParty:
        return cls(
            name=str(snapshot.get("name") or ""),
            address=str(snapshot.get("address") or ""),
            tax_id=str(snapshot.get("tax_id") or ""),
            email=str(snapshot.get("email") or ""),
            registration_number=str(snapshot.get("registration_number") or ""),
        )

    @classmethod
    def from_issuer(cls, record: BillingIssuerRecord) -> BillingParty:
        return cls(
            name=record.legal_name,
            address=record.address,
            tax_id=record.tax_id,
            email=record.email,
            registration_number=record.registration_number,
        )


@strawberry.type(description="One tax rate's taxable amount and tax on an invoice.")
class TaxBreakdownEntry:
    category: str
    name: str
    rate_percent: Decimal
    reduced: bool
    taxable: Decimal
    tax: Decimal


@strawberry.type(description="A conversion of the cost currency into the invoice currency.")
class InvoiceExchangeRate:
    from_currency: str
    to_currency: str
    rate: Decimal | None
    rate_date: date | None
    source: str


def _breakdown(details: dict[str, Any], currency: str) -> list[TaxBreakdownEntry]:
    return [
        TaxBreakdownEntry(
            category=b["category"],
            name=b["name"],
            rate_percent=Decimal(b["rate_percent"]),
            reduced=b["reduced"],
            taxable=_money(b["taxable"], currency),
            tax=_money(b["tax"], currency),
        )
        for b in details.get("tax_breakdown", ())
    ]


def _conversions(details: dict[str, Any]) -> list[InvoiceExchangeRate]:
    return [
        InvoiceExchangeRate(
            from_currency=x["from"],
            to_currency=x["to"],
            rate=None if x["rate"] is None else Decimal(x["rate"]),
            rate_date=None if x["date"] is None else date.fromisoformat(x["date"]),
            source=x["source"],
        )
        for x in details.get("exchange_rates", ())
    ]


@strawberry.type(
    description="A usage line has its service, usage type, unit and quantity; tax, credit and fee "
    "lines have no quantity."
)
class InvoiceLine:
    kind: LineKind
    service: str | None
    description: str
    quantity: Decimal | None
    unit: str | None
    amount: Decimal
    usage_type: str | None
    tax_category: str | None
    tax_rate_percent: Decimal | None

    @classmethod
    def from_record(cls, record: InvoiceLineRecord | DraftLine, currency: str) -> InvoiceLine:
        return cls(
            kind=LineKind(str(record.kind)),
            service=record.service,
            description=record.description,
            quantity=_plain(record.quantity),
            unit=record.unit,
            amount=_money(record.amount, currency),
            usage_type=record.usage_type,
            tax_category=record.tax_category,
            tax_rate_percent=_plain(record.tax_rate_percent),
        )


@strawberry.type(description="A stored invoice or credit note. Closed and void ones never change.")
class Invoice(Node):
    number: int | None
    kind: InvoiceKind
    period: str
    status: InvoiceStatus
    currency: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    lines: list[InvoiceLine]
    bill_from: BillingParty
    bill_to: BillingParty
    idempotency_key: str | None
    replaces_id: strawberry.ID | None
    credit_note_for_id: strawberry.ID | None
    void_reason: str | None
    created_at: datetime
    closed_at: datetime | None
    voided_at: datetime | None
    due_date: date | None = strawberry.field(description="Closing date plus the payment terms (none on credit notes).")
    payment_terms_days: int | None
    payment_details: str
    tax_breakdown: list[TaxBreakdownEntry]
    exchange_rates: list[InvoiceExchangeRate] = strawberry.field(
        description="The rates that converted the cost currency into the invoice currency, with date and source."
    )
    qualified: bool = strawberry.field(description="A Japanese qualified invoice (適格請求書).")
    reverse_charge_note: str
    tenant_id: strawberry.Private[UUID]

    @classmethod
    def from_record(cls, record: InvoiceRecord) -> Invoice:
        return cls(
            db_id=record.id,
            number=record.number,
            kind=record.kind,
            period=record.period,
            status=record.status,
            currency=record.currency,
            subtotal=_money(record.subtotal, record.currency),
            tax=_money(record.tax, record.currency),
            total=_money(record.total, record.currency),
            lines=[InvoiceLine.from_record(line, record.currency) for line in record.lines],
            bill_from=BillingParty.from_snapshot(record.bill_from),
            bill_to=BillingParty.from_snapshot(record.bill_to),
            idempotency_key=record.idempotency_key,
            replaces_id=optional_global_id("Invoice", record.replaces_id),
            credit_note_for_id=optional_global_id("Invoice", record.credit_note_for_id),
            void_reason=record.void_reason,
            created_at=record.created_at,
            closed_at=record.closed_at,
            voided_at=record.voided_at,
            due_date=record.due_date,
            payment_terms_days=record.payment_terms_days,
            payment_details=str(record.details.get("payment_details") or ""),
            tax_breakdown=_breakdown(record.details, record.currency),
            exchange_rates=_conversions(record.details),
            qualified=bool(record.details.get("qualified")),
            reverse_charge_note=str(record.details.get("reverse_charge_note") or ""),
            tenant_id=record.tenant_id,
        )

    @strawberry.field(description="The tenant billed.")
    async def company(self, info: Info[RequestContext, None]) -> Tenant | None:
        return await load_tenant(info, self.tenant_id)


@strawberry.type(description="The invoice as it would close now: recomputed on every request, never stored.")
class InvoicePreview:
    tenant_slug: str
    period: str
    currency: str
    plan_version_id: strawberry.ID
    lines: list[InvoiceLine]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    operator_cost: Decimal = strawberry.field(description="Your amortised cost, in the invoice currency.")
    margin: Decimal = strawberry.field(description="Subtotal minus operator cost (tax is not revenue).")

    @classmethod
    def from_draft(cls, tenant_slug: str, draft: InvoiceDraft) -> InvoicePreview:
        return cls(
            tenant_slug=tenant_slug,
            period=draft.period,
            currency=draft.currency,
            plan_version_id=strawberry.ID(draft.plan_version_id),
            lines=[InvoiceLine.from_record(line, draft.currency) for line in draft.lines],
            subtotal=_money(draft.subtotal, draft.currency),
            tax=_money(draft.tax, draft.currency),
            total=_money(draft.total, draft.currency),
            operator_cost=_money(draft.operator_cost, draft.currency),
            margin=_money(draft.margin, draft.currency),
        )


@strawberry.type(description="The (tenant, period) has a closed invoice already: `invoice`.")
class InvoiceAlreadyClosed(Problem):
    invoice: Invoice


@strawberry.type(description="No cost rows of the tenant's accounts in the period.")
class PeriodHasNoData(Problem):
    tenant_slug: str
    period: str


@strawberry.type(description="The voided invoice, its credit note and the reissued invoice (none without data).")
class InvoiceVoided:
    voided: Invoice
    credit_note: Invoice
    reissued: Invoice | None

    @classmethod
    def from_outcome(cls, outcome: Voided) -> InvoiceVoided:
        return cls(
            voided=Invoice.from_record(outcome.voided),
            credit_note=Invoice.from_record(outcome.credit_note),
            reissued=None if outcome.reissued is None else Invoice.from_record(outcome.reissued),
        )


strawberry.enum(InvoiceRunStatus, name="InvoiceRunStatus")


@strawberry.type(description="A job closing every billed tenant's invoice for a period, and its progress.")
class InvoiceRun(Node):
    period: str
    status: InvoiceRunStatus
    total: int
    closed: int
    already_closed: int
    no_data: int
    failed: int
    errors: JSON
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_record(cls, record: InvoiceRunRecord) -> InvoiceRun:
        return cls(
            db_id=record.id,
            period=record.period,
            status=record.status,
            total=record.total,
            closed=record.closed,
            already_closed=record.already_closed,
            no_data=record.no_data,
            failed=record.failed,
            errors=JSON(record.errors),
            created_at=record.created_at,
            started_at=record.started_at,
            finished_at=record.finished_at,
        )


@strawberry.type(
    description="Billed (rated, before invoice rounding and fees) against your amortised cost, in "
    "the cost rows' currency."
)
class MarginRow:
    tenant_slug: str | None
    service: str | None
    currency: str
    billed: Decimal
    cost: Decimal
    margin: Decimal

    @classmethod
    def from_line(cls, line: MarginLine) -> MarginRow:
        return cls(
            tenant_slug=None if line.tenant is None else line.tenant.slug,
            service=line.service,
            currency=line.currency,
            billed=Decimal(format(line.billed, "f")),
            cost=Decimal(format(line.cost, "f")),
            margin=Decimal(format(line.margin, "f")),
        )
