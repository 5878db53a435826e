"""Subscriptions (graphql-transport-ws on /graphql): the progress of cost imports, cost assemblies and invoice
runs, as the objects their queries return, one event per change, ending at the final status."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from db.billing_records import InvoiceRunStatus
from db.cost_records import CostAssemblyStatus, CostImportStatus
from resolvers.billing import runs
from resolvers.common.context import RequestContext
from resolvers.common.subscriptions import progress
from resolvers.costs import assemblies as cost_assemblies
from resolvers.costs import imports as cost_imports
from resolvers.global_ids import decode_global_id
from schema.types.billing import InvoiceRun
from schema.types.cost_assemblies import CostAssembly
from schema.types.costs import CostImport

Ctx = Info[RequestContext, None]

_IMPORT_FINAL = frozenset({CostImportStatus.SUCCEEDED, CostImportStatus.FAILED, CostImportStatus.DUPLICATE})
_ASSEMBLY_FINAL = frozenset(
    {
        CostAssemblyStatus.SUCCEEDED,
        CostAssemblyStatus.FAILED,
        CostAssemblyStatus.DUPLICATE,
        CostAssemblyStatus.SUPERSEDED,
    }
)
_RUN_FINAL = frozenset({InvoiceRunStatus.SUCCEEDED, InvoiceRunStatus.FAILED})
_ENDS = "Ends after the event with a final status; an id you may not see is one NOT_FOUND error."


@strawberry.type
class Subscription:
    @strawberry.subscription(description=f"A cost import as `costImport(id)` returns it, on every change. {_ENDS}")
    async def cost_import_progress(self, info: Ctx, id: strawberry.ID) -> AsyncGenerator[CostImport, None]:
        import_id = decode_global_id("CostImport", id, "id")

        async def read(ctx: RequestContext) -> CostImport:
            return CostImport.from_record(await cost_imports.cost_import(ctx, import_id))

        async for value in progress(info.context, read, lambda i: i.status in _IMPORT_FINAL):
            yield value

    @strawberry.subscription(
        description=f"A cost report assembly as `costAssembly(id)` returns it, on every change. {_ENDS}"
    )
    async def cost_assembly_progress(self, info: Ctx, id: strawberry.ID) -> AsyncGenerator[CostAssembly, None]:
        assembly_id = decode_global_id("CostAssembly", id, "id")

        async def read(ctx: RequestContext) -> CostAssembly:
            return CostAssembly.from_view(await cost_assemblies.cost_assembly(ctx, assembly_id))

        async for value in progress(info.context, read, lambda a: a.status in _ASSEMBLY_FINAL):
            yield value

    @strawberry.subscription(description=f"A close-all run as `invoiceRun(id)` returns it, on every change. {_ENDS}")
    async def invoice_run_progress(self, info: Ctx, id: strawberry.ID) -> AsyncGenerator[InvoiceRun, None]:
        run_id = decode_global_id("InvoiceRun", id, "id")

        async def read(ctx: RequestContext) -> InvoiceRun:
            return InvoiceRun.from_record(await runs.invoice_run(ctx, run_id))

        async for value in progress(info.context, read, lambda r: r.status in _RUN_FINAL):
            yield value
