"""Queries of management information: financial statements, KPIs, KPI requests."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.common import cursors
from resolvers.common.context import RequestContext
from resolvers.common.pages import page_request
from resolvers.global_ids import decode_global_id
from resolvers.management import financials, kpi_requests, kpis
from schema.types.financials import (
    FinancialReport,
    KpiDefinition,
    KpiReport,
    KpiRequest,
)
from schema.types.pagination import Connection, connection

Ctx = Info[RequestContext, None]

From = Annotated[date | None, strawberry.argument(name="from", description="Periods ending on or after this day.")]
To = Annotated[date | None, strawberry.argument(description="Periods starting on or before this day.")]


@strawberry.type
class FinancialsQuery:
    @strawberry.field(
        description="Financial statements by period start: your company's (all of them), or with companySlug a"
        " startup that granted you FINANCIALS (its finalized ones only)."
    )
    async def financial_reports(
        self,
        info: Ctx,
        company_slug: str | None = None,
        statement: financials.Statement | None = None,
        from_: From = None,
        to: To = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[FinancialReport] | None:
        ctx = info.context
        page = await financials.reports_page(
            ctx,
            company_slug,
            statement,
            (from_, to),
            page_request(first, after, ctx.max_page_size, cursors.FINANCIAL_REPORTS, last=last, before=before),
        )
        return connection(
            page,
            FinancialReport.from_view,
            lambda v: (v.report.period_start, v.report.id),
            cursor=cursors.FINANCIAL_REPORTS,
        )

    @strawberry.field(description="One financial statement you may read.")
    async def financial_report(self, info: Ctx, id: strawberry.ID) -> FinancialReport | None:
        return FinancialReport.from_view(
            await financials.report(info.context, decode_global_id("FinancialReport", id, "id"))
        )

    @strawberry.field(description="KPI definitions of your company, or of a startup that granted you FINANCIALS.")
    async def kpi_definitions(self, info: Ctx, company_slug: str | None = None) -> list[KpiDefinition] | None:
        return [KpiDefinition.from_record(d) for d in await kpis.definitions(info.context, company_slug)]

    @strawberry.field(
        description="KPI reports whose period overlaps [from, to], by period: all of your company's, or the"
        " finalized ones of a startup that granted you FINANCIALS."
    )
    async def kpis(
        self, info: Ctx, company_slug: str | None = None, from_: From = None, to: To = None
    ) -> list[KpiReport] | None:
        return [KpiReport.from_view(v) for v in await kpis.reports(info.context, company_slug, (from_, to))]

    @strawberry.field(description="The latest finalized KPI report (latest period end), or null.")
    async def latest_kpis(self, info: Ctx, company_slug: str | None = None) -> KpiReport | None:
        view = await kpis.latest(info.context, company_slug)
        return None if view is None else KpiReport.from_view(view)

    @strawberry.field(description="KPI requests where you are the startup asked or the VC asking, oldest first.")
    async def kpi_requests(
        self,
        info: Ctx,
        status: kpi_requests.RequestStatus | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[KpiRequest] | None:
        ctx = info.context
        page = await kpi_requests.requests_page(
            ctx, status, page_request(first, after, ctx.max_page_size, cursors.KPI_REQUESTS, last=last, before=before)
        )
        return connection(page, KpiRequest.from_record, lambda r: (r.created_at, r.id), cursor=cursors.KPI_REQUESTS)
