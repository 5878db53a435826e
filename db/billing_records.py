"""Billing rows as the layers above see them: frozen, typed, no SQLAlchemy objects."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from cost.billing.invoice import LineKind
from cost.billing.plans import ItemKind


class InvoiceStatus(enum.StrEnum):
    DRAFT = "draft"
    CLOSED = "closed"
    VOID = "void"


class InvoiceKind(enum.StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class InvoiceRunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class PricingPlanRecord:
    tenant_id: UUID
    id: UUID
    name: str
    created_at: datetime


@dataclass(frozen=True)
class PlanVersionRecord:
    tenant_id: UUID
    id: UUID
    plan_id: UUID
    version: int
    valid_from: str
    definition: dict[str, Any]
    created_by: UUID | None
    created_at: datetime


@dataclass(frozen=True)
class ExchangeRateRecord:
    tenant_id: UUID
    period: str
    currency: str
    rate: Decimal
    updated_at: datetime
    rate_date: date | None = None
    source: str = ""


@dataclass(frozen=True)
class TaxRateRecord:
    tenant_id: UUID
    category: str
    valid_from: str
    rate_percent: Decimal
    name: str
    reduced: bool
    updated_at: datetime


@dataclass(frozen=True)
class CostCategoryRecord:
    tenant_id: UUID
    id: UUID
    name: str
    definition: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True)
class BillingIssuerRecord:
    tenant_id: UUID
    legal_name: str
    address: str
    tax_id: str
    email: str
    updated_at: datetime
    registration_number: str = ""
    jurisdiction: str = ""
    payment_terms_days: int = 30
    payment_details: str = ""
    provider_tax: str = "REPLACE"
    tax_rounding: str = "PER_RATE"
    reverse_charge_note: str = ""


@dataclass(frozen=True)
class CustomerBillingRecord:
    tenant_id: UUID
    operator_id: UUID
    plan_id: UUID | None
    currency: str
    tax_rate_percent: Decimal
    tax_name: str
    legal_name: str
    address: str
    email: str
    updated_at: datetime
    tax_id: str = ""
    tax_category: str = "standard"
    provider_tax: str | None = None
    reverse_charge: bool = False
    payment_terms_days: int | None = None


@dataclass(frozen=True)
class CustomItemRecord:
    tenant_id: UUID
    id: UUID
    operator_id: UUID
    description: str
    kind: ItemKind
    amount_type: str
    value: Decimal
    period: str
    recurrence: str
    until: str | None
    currency: str | None
    created_by: UUID | None
    created_at: datetime
    tax_category: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ItemKind(self.kind))


@dataclass(frozen=True)
class InvoiceLineRecord:
    tenant_id: UUID
    invoice_id: UUID
    position: int
    kind: LineKind
    service: str | None
    description: str
    quantity: Decimal | None
    unit: str | None
    amount: Decimal
    usage_type: str | None = None
    tax_category: str | None = None
    tax_rate_percent: Decimal | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", LineKind(self.kind))


@dataclass(frozen=True)
class InvoiceRecord:
    tenant_id: UUID
    id: UUID
    operator_id: UUID
    number: int | None
    kind: InvoiceKind
    period: str
    status: InvoiceStatus
    currency: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    plan_version_id: UUID | None
    idempotency_key: str | None
    replaces_id: UUID | None
    credit_note_for_id: UUID | None
    bill_from: dict[str, Any]
    bill_to: dict[str, Any]
    void_reason: str | None
    created_by: UUID | None
    created_at: datetime
    closed_at: datetime | None
    closed_by: UUID | None
    voided_at: datetime | None
    voided_by: UUID | None
    payment_terms_days: int | None = None
    due_date: date | None = None
    details: dict[str, Any] = field(default_factory=dict, compare=False)
    lines: tuple[InvoiceLineRecord, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        # Rows arrive as plain strings (`Record(**row._mapping)`); an unknown value fails here, not later.
        object.__setattr__(self, "kind", InvoiceKind(self.kind))
        object.__setattr__(self, "status", InvoiceStatus(self.status))


@dataclass(frozen=True)
class InvoiceRunRecord:
    tenant_id: UUID
    id: UUID
    period: str
    status: InvoiceRunStatus
    total: int
    closed: int
    already_closed: int
    no_data: int
    failed: int
    errors: list[dict[str, Any]]
    job_id: int | None
    created_by: UUID
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", InvoiceRunStatus(self.status))

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")
