"""Mutations of management information. Each returns a union of its result and the expected problems."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.common.context import RequestContext
from resolvers.global_ids import decode_global_id, decode_optional_global_id
from resolvers.management import financials, kpi_requests, kpis
from schema.outcomes import outcome
from schema.types.financials import (
    DeletedFinancialReport,
    DeletedKpiDefinition,
    DeletedKpiReport,
    FinancialReport,
    KpiDefinition,
    KpiReport,
    KpiRequest,
)
from schema.types.node import global_id
from schema.types.problems import ConflictProblem, InvalidInputProblem, NotAllowed, NotFoundProblem

Ctx = Info[RequestContext, None]

FinancialReportResult = Annotated[
    FinancialReport | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("FinancialReportResult"),
]
DeleteFinancialReportResult = Annotated[
    DeletedFinancialReport | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("DeleteFinancialReportResult"),
]
KpiDefinitionResult = Annotated[
    KpiDefinition | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("KpiDefinitionResult"),
]
DeleteKpiDefinitionResult = Annotated[
    DeletedKpiDefinition | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("DeleteKpiDefinitionResult"),
]
KpiReportResult = Annotated[
    KpiReport | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("KpiReportResult"),
]
DeleteKpiReportResult = Annotated[
    DeletedKpiReport | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("DeleteKpiReportResult"),
]
KpiRequestResult = Annotated[
    KpiRequest | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("KpiRequestResult"),
]


@strawberry.input
class FinancialLineInput:
    key: str = strawberry.field(description="Lower-case key such as 'revenue' or 'total_assets'; unique per report.")
    amount: str = strawberry.field(description="An exact decimal string such as '-1234.5'; at most 4 places.")
    label: str = ""
    position: int | None = strawberry.field(default=None, description="Display order; the input order if omitted.")


@strawberry.input
class FinancialReportInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="The draft to edit; a new one if omitted.")
    statement: financials.Statement
    period_start: date
    period_end: date
    currency: str = strawberry.field(description="ISO 4217 code of every amount, such as 'JPY'.")
    lines: list[FinancialLineInput]


@strawberry.input
class KpiDefinitionInput:
    key: str = strawberry.field(
        description="arr, mrr, burn, runway_months, headcount, customers, churn_rate, or a custom key."
    )
    name: str
    unit: kpis.Unit
    currency: str | None = strawberry.field(default=None, description="Required for unit CURRENCY only.")
    direction: kpis.Direction = kpis.Direction.UP


@strawberry.input
class KpiValueInput:
    key: str
    value: str = strawberry.field(description="An exact decimal string; at most 6 places.")


@strawberry.input
class KpiReportInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="The draft to edit; a new one if omitted.")
    period_start: date
    period_end: date
    values: list[KpiValueInput]


@strawberry.type
class FinancialsMutation:
    @strawberry.mutation(description="Create a draft financial statement, or replace a draft's header and lines.")
    async def save_financial_report(self, info: Ctx, input: FinancialReportInput) -> FinancialReportResult:
        async def run() -> FinancialReport:
            data = financials.ReportInput(
                id=decode_optional_global_id("FinancialReport", input.id, "input.id"),
                statement=financials.Statement(input.statement),
                period_start=input.period_start,
                period_end=input.period_end,
                currency=input.currency,
                lines=[financials.LineInput(ln.key, ln.amount, ln.label, ln.position) for ln in input.lines],
            )
            return FinancialReport.from_view(await financials.save_report(info.context, data))

        return await outcome(run)

    @strawberry.mutation(description="Make a draft financial statement final: immutable, and visible to granted VCs.")
    async def finalize_financial_report(self, info: Ctx, id: strawberry.ID) -> FinancialReportResult:
        async def run() -> FinancialReport:
            return FinancialReport.from_view(
                await financials.finalize_report(info.context, decode_global_id("FinancialReport", id, "id"))
            )

        return await outcome(run)

    @strawberry.mutation(description="Delete a draft financial statement (final ones are kept forever).")
    async def delete_draft_financial_report(self, info: Ctx, id: strawberry.ID) -> DeleteFinancialReportResult:
        async def run() -> DeletedFinancialReport:
            deleted = await financials.delete_draft(info.context, decode_global_id("FinancialReport", id, "id"))
            return DeletedFinancialReport(deleted_id=global_id("FinancialReport", deleted))

        return await outcome(run)

    @strawberry.mutation(description="Define a KPI of the acting startup.")
    async def create_kpi_definition(self, info: Ctx, input: KpiDefinitionInput) -> KpiDefinitionResult:
        async def run() -> KpiDefinition:
            return KpiDefinition.from_record(await kpis.save_definition(info.context, _definition(input), None))

        return await outcome(run)

    @strawberry.mutation(description="Edit a KPI definition; one used by a final report keeps key, unit, currency.")
    async def update_kpi_definition(
        self, info: Ctx, id: strawberry.ID, input: KpiDefinitionInput
    ) -> KpiDefinitionResult:
        async def run() -> KpiDefinition:
            record = await kpis.save_definition(
                info.context, _definition(input), decode_global_id("KpiDefinition", id, "id")
            )
            return KpiDefinition.from_record(record)

        return await outcome(run)

    @strawberry.mutation(description="Delete a KPI definition that no report uses.")
    async def delete_kpi_definition(self, info: Ctx, id: strawberry.ID) -> DeleteKpiDefinitionResult:
        async def run() -> DeletedKpiDefinition:
            deleted = await kpis.delete_definition(info.context, decode_global_id("KpiDefinition", id, "id"))
            return DeletedKpiDefinition(deleted_id=global_id("KpiDefinition", deleted))

        return await outcome(run)

    @strawberry.mutation(description="Create a draft KPI report, or replace a draft's period and values.")
    async def save_kpi_report(self, info: Ctx, input: KpiReportInput) -> KpiReportResult:
        async def run() -> KpiReport:
            values = [kpis.ValueInput(v.key, v.value) for v in input.values]
            view = await kpis.save_report(
                info.context,
                decode_optional_global_id("KpiReport", input.id, "input.id"),
                input.period_start,
                input.period_end,
                values,
            )
            return KpiReport.from_view(view)

        return await outcome(run)

    @strawberry.mutation(description="Make a draft KPI report final: immutable, and visible to granted VCs.")
    async def finalize_kpi_report(self, info: Ctx, id: strawberry.ID) -> KpiReportResult:
        async def run() -> KpiReport:
            return KpiReport.from_view(
                await kpis.finalize_report(info.context, decode_global_id("KpiReport", id, "id"))
            )

        return await outcome(run)

    @strawberry.mutation(description="Delete a draft KPI report (final ones are kept forever).")
    async def delete_draft_kpi_report(self, info: Ctx, id: strawberry.ID) -> DeleteKpiReportResult:
        async def run() -> DeletedKpiReport:
            deleted = await kpis.delete_draft(info.context, decode_global_id("KpiReport", id, "id"))
            return DeletedKpiReport(deleted_id=global_id("KpiReport", deleted))

        return await outcome(run)

    @strawberry.mutation(description="A VC's writer asks a startup that granted it FINANCIALS for KPIs of a period.")
    async def request_kpis(
        self,
        info: Ctx,
        startup_slug: str,
        period_start: date,
        period_end: date,
        kpi_keys: list[str],
        due_on: date | None = None,
        message: str = "",
    ) -> KpiRequestResult:
        async def run() -> KpiRequest:
            record = await kpi_requests.request_kpis(
                info.context, startup_slug, period_start, period_end, kpi_keys, due_on, message
            )
            return KpiRequest.from_record(record)

        return await outcome(run)

    @strawberry.mutation(
        description="The startup fulfils a KPI request (its final KPI report of the period must hold every"
        " requested KPI) or declines it (fulfilled: false)."
    )
    async def respond_to_kpi_request(
        self, info: Ctx, id: strawberry.ID, fulfilled: bool, message: str = ""
    ) -> KpiRequestResult:
        async def run() -> KpiRequest:
            record = await kpi_requests.respond(
                info.context, decode_global_id("KpiRequest", id, "id"), fulfilled, message
            )
            return KpiRequest.from_record(record)

        return await outcome(run)

    @strawberry.mutation(description="The requesting VC cancels an open KPI request.")
    async def cancel_kpi_request(self, info: Ctx, id: strawberry.ID) -> KpiRequestResult:
        async def run() -> KpiRequest:
            return KpiRequest.from_record(
                await kpi_requests.cancel(info.context, decode_global_id("KpiRequest", id, "id"))
            )

        return await outcome(run)


def _definition(input: KpiDefinitionInput) -> kpis.DefinitionInput:
    return kpis.DefinitionInput(
        key=input.key,
        name=input.name,
        unit=kpis.Unit(input.unit),
        currency=input.currency,
        direction=kpis.Direction(input.direction),
    )
