"""Management-information rows as the layers above see them: frozen, typed, money as Decimal."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID


class ReportStatus(enum.StrEnum):
    """Of a financial or KPI report: a draft changes, a final one never does."""

    DRAFT = "draft"
    FINAL = "final"


@dataclass(frozen=True)
class FinancialReportRecord:
    tenant_id: UUID
    id: UUID
    statement: str
    period_start: date
    period_end: date
    currency: str
    status: ReportStatus
    finalized_at: datetime | None
    finalized_by: UUID | None
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        # Rows arrive as plain strings (`Record(**row._mapping)`); an unknown status fails here, not later.
        object.__setattr__(self, "status", ReportStatus(self.status))


@dataclass(frozen=True)
class FinancialLineRecord:
    tenant_id: UUID
    report_id: UUID
    line_key: str
    label: str
    amount: Decimal
    position: int
    final: bool


@dataclass(frozen=True)
class KpiDefinitionRecord:
    tenant_id: UUID
    id: UUID
    key: str
    name: str
    unit: str
    currency: str | None
    direction: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class KpiReportRecord:
    tenant_id: UUID
    id: UUID
    period_start: date
    period_end: date
    status: ReportStatus
    finalized_at: datetime | None
    finalized_by: UUID | None
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        # Rows arrive as plain strings (`Record(**row._mapping)`); an unknown status fails here, not later.
        object.__setattr__(self, "status", ReportStatus(self.status))


@dataclass(frozen=True)
class KpiValueRecord:
    """One value with its report's period and its definition, as the portfolio and the API show it."""

    tenant_id: UUID
    report_id: UUID
    period_start: date
    period_end: date
    definition_id: UUID
    key: str
    name: str
    unit: str
    currency: str | None
    direction: str
    value: Decimal


@dataclass(frozen=True)
class KpiRequestRecord:
    tenant_id: UUID
    id: UUID
    vc_tenant_id: UUID
    period_start: date
    period_end: date
    kpi_keys: list[str]
    message: str
    due_on: date | None
    status: str
    response: str
    kpi_report_id: UUID | None
    requested_by: UUID | None
    responded_by: UUID | None
    created_at: datetime
    updated_at: datetime
