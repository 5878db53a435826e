"""Financial statements, KPIs and KPI requests. Money is `Decimal` (serialised as a string) plus a currency."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

import strawberry
from strawberry.types import Info

from db.financials_records import (
    FinancialLineRecord,
    KpiDefinitionRecord,
    KpiRequestRecord,
    KpiValueRecord,
    ReportStatus,
)
from resolvers.common.context import RequestContext
from resolvers.management.financials import ReportWithLines, Statement
from resolvers.management.kpi_requests import RequestStatus
from resolvers.management.kpis import Direction, ReportWithValues, Unit
from schema.types.decimals import stated_money
from schema.types.node import Node, global_id, optional_global_id
from schema.types.tenancy import Tenant, load_tenant

strawberry.enum(Statement, name="FinancialStatement")
strawberry.enum(Unit, name="KpiUnit")
strawberry.enum(Direction, name="KpiDirection", description="Which way of change is good.")
strawberry.enum(RequestStatus, name="KpiRequestStatus")


strawberry.enum(ReportStatus, name="ReportStatus")


async def _tenant(info: Info[RequestContext, None], tenant_id: UUID) -> Tenant | None:
    return await load_tenant(info, tenant_id)


@strawberry.type
class FinancialReportLine:
    key: str
    label: str
    amount: Decimal
    position: int

    @classmethod
    def from_record(cls, record: FinancialLineRecord, currency: str) -> FinancialReportLine:
        amount = stated_money(record.amount, currency)
        return cls(key=record.line_key, label=record.label, amount=amount, position=record.position)


@strawberry.type(description="A statement of one fiscal period; final ones never change.")
class FinancialReport(Node):
    statement: Statement
    period_start: date
    period_end: date
    currency: str
    status: ReportStatus
    finalized_at: datetime | None
    created_at: datetime
    updated_at: datetime
    lines: list[FinancialReportLine]
    tenant_id: strawberry.Private[UUID]

    @classmethod
    def from_view(cls, view: ReportWithLines) -> FinancialReport:
        report = view.report
        return cls(
            db_id=report.id,
            statement=Statement(report.statement),
            period_start=report.period_start,
            period_end=report.period_end,
            currency=report.currency,
            status=report.status,
            finalized_at=report.finalized_at,
            created_at=report.created_at,
            updated_at=report.updated_at,
            lines=[FinancialReportLine.from_record(line, report.currency) for line in view.lines],
            tenant_id=report.tenant_id,
        )

    @strawberry.field
    async def company(self, info: Info[RequestContext, None]) -> Tenant | None:
        return await _tenant(info, self.tenant_id)


@strawberry.type
class KpiDefinition(Node):
    key: str
    name: str
    unit: Unit
    currency: str | None
    direction: Direction
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, record: KpiDefinitionRecord) -> KpiDefinition:
        return cls(
            db_id=record.id,
            key=record.key,
            name=record.name,
            unit=Unit(record.unit),
            currency=record.currency,
            direction=Direction(record.direction),
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


@strawberry.type(description="One KPI's value in a report, with what it measures.")
class KpiValue:
    key: str
    name: str
    unit: Unit
    currency: str | None
    direction: Direction
    value: Decimal
    definition_id: strawberry.ID
    period_start: date = strawberry.field(description="The period of the report the value belongs to.")
    period_end: date

    @classmethod
    def from_record(cls, record: KpiValueRecord) -> KpiValue:
        return cls(
            period_start=record.period_start,
            period_end=record.period_end,
            key=record.key,
            name=record.name,
            unit=Unit(record.unit),
            currency=record.currency,
            direction=Direction(record.direction),
            value=stated_money(record.value, record.currency) if record.currency else record.value,
            definition_id=global_id("KpiDefinition", record.definition_id),
        )


@strawberry.type(description="KPI values of one period; final ones never change.")
class KpiReport(Node):
    period_start: date
    period_end: date
    status: ReportStatus
    finalized_at: datetime | None
    created_at: datetime
    updated_at: datetime
    values: list[KpiValue]
    tenant_id: strawberry.Private[UUID]

    @classmethod
    def from_view(cls, view: ReportWithValues) -> KpiReport:
        report = view.report
        return cls(
            db_id=report.id,
            period_start=report.period_start,
            period_end=report.period_end,
            status=report.status,
            finalized_at=report.finalized_at,
            created_at=report.created_at,
            updated_at=report.updated_at,
            values=[KpiValue.from_record(v) for v in view.values],
            tenant_id=report.tenant_id,
        )

    @strawberry.field
    async def company(self, info: Info[RequestContext, None]) -> Tenant | None:
        return await _tenant(info, self.tenant_id)


@strawberry.type(description="A VC's request for a startup's KPIs of a period.")
class KpiRequest(Node):
    period_start: date
    period_end: date
    kpi_keys: list[str]
    message: str
    due_on: date | None
    status: RequestStatus
    response: str
    kpi_report_id: strawberry.ID | None
    created_at: datetime
    updated_at: datetime
    startup_id: strawberry.Private[UUID]
    vc_id: strawberry.Private[UUID]

    @classmethod
    def from_record(cls, record: KpiRequestRecord) -> KpiRequest:
        return cls(
            db_id=record.id,
            period_start=record.period_start,
            period_end=record.period_end,
            kpi_keys=list(record.kpi_keys),
            message=record.message,
            due_on=record.due_on,
            status=RequestStatus(record.status),
            response=record.response,
            kpi_report_id=optional_global_id("KpiReport", record.kpi_report_id),
            created_at=record.created_at,
            updated_at=record.updated_at,
            startup_id=record.tenant_id,
            vc_id=record.vc_tenant_id,
        )

    @strawberry.field
    async def startup(self, info: Info[RequestContext, None]) -> Tenant | None:
        return await _tenant(info, self.startup_id)

    @strawberry.field
    async def vc(self, info: Info[RequestContext, None]) -> Tenant | None:
        return await _tenant(info, self.vc_id)


@strawberry.type
class DeletedFinancialReport:
    deleted_id: strawberry.ID = strawberry.field(description="The deleted report's global id.")


@strawberry.type
class DeletedKpiDefinition:
    deleted_id: strawberry.ID = strawberry.field(description="The deleted definition's global id.")


@strawberry.type
class DeletedKpiReport:
    deleted_id: strawberry.ID = strawberry.field(description="The deleted report's global id.")
