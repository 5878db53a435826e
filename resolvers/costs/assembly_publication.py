"""An assembly's publication job: every staged part published in one catalog version, under the operator's
store lock (the lock single-file imports take), as its requester.

A newer assembly of the same report and period published first makes this one ``superseded``; a locked
period follows the assembly's lateData (:mod:`cost.assembly_publication`).
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from sqlalchemy import func

from cost import CostError, CostStore
from cost.assembly_publication import catalog_source, publish_assembly
from db.cost_records import CostAssemblyRecord, CostAssemblyStatus
from db.queries import cost_assemblies, costs
from db.session import Database
from resolvers.common.job_requests import JobRefused, job_request
from resolvers.common.principals import Member
from resolvers.common.request import RequestRuntime
from resolvers.costs.import_runs import error_details, gave_up


async def run_assembly_publication(
    database: Database,
    store: CostStore,
    assembly_id: UUID,
    requester: Member,
    *,
    attempt: int = 0,
    max_retries: int = 2,
) -> CostAssemblyRecord:
    """Publish every staged part in one catalog version (under the operator's store lock, see the module)."""
    runtime = RequestRuntime(database, max_page_size=1, cost_store=store)
    refusal = f"cost assembly {assembly_id} is not visible to its requester's context"
    async with job_request(runtime, requester, refusal) as ctx:
        tx = ctx.tx
        assembly = await cost_assemblies.assembly_by_id(tx, assembly_id, for_update=True)
        if assembly is None:
            raise JobRefused(refusal)
        if assembly.status is not CostAssemblyStatus.PUBLISHING:
            return assembly
        if attempt > max_retries:
            error = gave_up(assembly.manifest_uri, "publication", attempt)
            final = await cost_assemblies.update_assembly(
                tx, assembly_id, status="failed", error=error, finished_at=func.now()
            )
            assert final is not None
            return final
        if await cost_assemblies.newer_published(tx, assembly):
            final = await cost_assemblies.update_assembly(tx, assembly_id, status="superseded", finished_at=func.now())
            assert final is not None
            return final
        parts = await cost_assemblies.parts(tx, assembly_id)
        locked = await costs.locked_periods(tx, assembly.tenant_id)
    staged = [f for p in parts for f in (p.staged or [])]
    fields: dict[str, Any]
    try:
        published = await asyncio.to_thread(
            publish_assembly,
            store.for_operator(assembly.tenant_id),
            assembly_id=str(assembly.id),
            source=catalog_source(assembly.source_name, assembly.report),
            period=assembly.period,
            assembly_key=assembly.assembly_key,
            staged=staged,
            locked_periods=locked,
            late_data=assembly.late_data,
        )
        fields = {
            "status": "succeeded",
            "catalog_version": published.version,
            "rehomed": [r.to_record() for r in published.rehomed],
        }
    except CostError as error:
        fields = {"status": "failed", "error": error_details(error, assembly.manifest_uri)}
    gone = f"cost assembly {assembly_id} became invisible to its requester's context"
    async with job_request(runtime, requester, gone) as ctx:
        final = await cost_assemblies.update_assembly(ctx.tx, assembly_id, **fields, finished_at=func.now())
    if final is None:
        raise JobRefused(gone)
    return final
