"""Report sources: register a bucket prefix once, list what its syncs found, sync on demand."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from cost import LateData
from cost.report_sources import ReportFormat
from resolvers.common.context import RequestContext
from resolvers.costs import report_sources
from schema.outcomes import outcome
from schema.types.problems import InvalidInputProblem, NotAllowed
from schema.types.report_sources import ReportSource, ReportSourceSync

Ctx = Info[RequestContext, None]

RegisterReportSourceResult = Annotated[
    ReportSource | NotAllowed | InvalidInputProblem, strawberry.union("RegisterReportSourceResult")
]


@strawberry.type
class ReportSourcesMutation:
    @strawberry.mutation(
        description="Register a prefix where AWS delivers a report (`s3://bucket/prefix` of a configured cost "
        "source, or a folder of a local one): every worker lists it every ROUNDPOOL_REPORT_SYNC_INTERVAL_S and "
        "queues each new delivery as an assembly. Only the location and format are stored; the bucket's "
        "endpoint and credentials stay in configuration. `lateData` is what those assemblies do with rows of a "
        "closed period (AWS's final rewrite of a month usually comes after it was invoiced): CORRECTIONS "
        "(default) nets them against what was billed and re-homes only the difference; REJECT fails such an "
        "assembly. Registering it again (same format and lateData) returns it. Billing admins."
    )
    async def register_report_source(
        self,
        info: Ctx,
        location: str,
        format: ReportFormat,
        late_data: LateData = LateData.CORRECTIONS,
    ) -> RegisterReportSourceResult:
        async def run() -> ReportSource:
            record = await report_sources.register_report_source(info.context, location, format, late_data)
            views = await report_sources.cost_sources(info.context)
            return ReportSource.from_view(next(v for v in views if v.record.id == record.id))

        return await outcome(run, (NotAllowed, InvalidInputProblem))

    @strawberry.mutation(
        description="List every report source of your operator now and queue its new "
        "deliveries (what the scheduled sync does). Billing admins."
    )
    async def sync_report_sources(self, info: Ctx) -> list[ReportSourceSync]:
        return [ReportSourceSync.from_outcome(o) for o in await report_sources.sync_all(info.context)]


@strawberry.type
class ReportSourcesQuery:
    @strawberry.field(
        description="Your operator's report sources with their last assembly, its status and the lag (billing admins)."
    )
    async def cost_sources(self, info: Ctx) -> list[ReportSource] | None:
        return [ReportSource.from_view(v) for v in await report_sources.cost_sources(info.context)]
