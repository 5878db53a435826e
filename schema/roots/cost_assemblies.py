"""Cost report assemblies: import one from its manifest, follow its progress."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from cost import LateData
from resolvers.common import cursors
from resolvers.common.context import RequestContext
from resolvers.common.pages import page_request
from resolvers.costs import assemblies as cost_assemblies
from resolvers.global_ids import decode_global_id
from schema.outcomes import outcome
from schema.types.cost_assemblies import CostAssembly
from schema.types.pagination import Connection, connection
from schema.types.problems import InvalidInputProblem, NotAllowed

Ctx = Info[RequestContext, None]

ImportCostAssemblyResult = Annotated[
    CostAssembly | NotAllowed | InvalidInputProblem, strawberry.union("ImportCostAssemblyResult")
]


@strawberry.type
class CostAssembliesMutation:
    @strawberry.mutation(
        description="Queue the import of a report assembly from its manifest (legacy CUR `<report>-Manifest.json`, "
        "or a Data Exports `…/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json` of CUR 2.0 or FOCUS) in a "
        "configured cost source; every part must be in that same source. Parts import in parallel; the "
        "assembly is published when all succeeded, replacing the previous assembly of its report and period. "
        "Billing admins. Follow it with `costAssembly(id)`."
    )
    async def import_cost_assembly(
        self, info: Ctx, manifest: str, late_data: LateData = LateData.REJECT
    ) -> ImportCostAssemblyResult:
        async def run() -> CostAssembly:
            record = await cost_assemblies.queue_assembly(info.context, manifest, late_data)
            return CostAssembly.from_view(await cost_assemblies.cost_assembly(info.context, record.id))

        return await outcome(run, (NotAllowed, InvalidInputProblem))


@strawberry.type
class CostAssembliesQuery:
    @strawberry.field(description="One cost report assembly of your operator and its progress (billing admins).")
    async def cost_assembly(self, info: Ctx, id: strawberry.ID) -> CostAssembly | None:
        assembly_id = decode_global_id("CostAssembly", id, "id")
        return CostAssembly.from_view(await cost_assemblies.cost_assembly(info.context, assembly_id))

    @strawberry.field(
        description="Your operator's cost report assemblies, oldest first, with their progress (billing admins)."
    )
    async def cost_assemblies(
        self,
        info: Ctx,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[CostAssembly] | None:
        ctx = info.context
        request = page_request(first, after, ctx.max_page_size, cursors.COST_ASSEMBLIES, last=last, before=before)
        page = await cost_assemblies.cost_assemblies_page(ctx, request)
        return connection(
            page, CostAssembly.from_view, lambda v: (v.record.created_at, v.record.id), cursor=cursors.COST_ASSEMBLIES
        )
