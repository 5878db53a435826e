"""An assembly's part jobs: each stages one part of the delivery, unpublished; the last to succeed queues the
publication.

Part jobs carry no lock: any number of workers stage parts concurrently, each into its own folder of the
operator's store. The part that finds, under the assembly row's lock (``select … for update``), every part
succeeded queues the one publication job (:mod:`resolvers.costs.assembly_publication`) under the operator's
store lock, the lock single-file imports take: the catalog's writers stay serialised per operator. A failed
part fails the assembly with its reason; nothing is published. A part whose worker died is retried by
stalled-job recovery and starts again from an empty folder. Every stage works under its requester's
context, like :func:`resolvers.costs.imports.run_import`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID

from sqlalchemy import func

from cost import CostStore
from cost.assemblies import part_location, read_manifest, stage_part
from cost.errors import LocationRefused
from cost.locations import NO_SOURCES, CostSources, ResolvedLocation
from cost.manifests import Manifest, ManifestError, parse_manifest
from db.cost_records import CostAssemblyRecord, CostAssemblyStatus, CostImportRecord, CostImportStatus
from db.queries import cost_assemblies, costs
from db.session import Database
from resolvers.common.job_requests import JobRefused, job_request
from resolvers.common.principals import Member
from resolvers.common.request import RequestRuntime
from resolvers.costs.import_runs import Progress, engine_outcome, gave_up, operator_slug, reporting
from resolvers.costs.imports import COST_QUEUE, store_lock

PUBLISH_TASK = "publish_cost_assembly"


async def run_assembly_part(
    database: Database,
    store: CostStore,
    import_id: UUID,
    requester: Member,
    *,
    attempt: int = 0,
    max_retries: int = 2,
    interval: float = 1.0,
    sources: CostSources = NO_SOURCES,
) -> CostImportRecord:
    """Stage one part (unpublished) as its requester; the last part to succeed queues the publication."""
    runtime = RequestRuntime(database, max_page_size=1, cost_store=store, cost_sources=sources)
    refusal = f"assembly part {import_id} is not visible to its requester's context"
    async with job_request(runtime, requester, refusal) as ctx:
        tx = ctx.tx
        existing = await costs.import_by_id(tx, import_id)
        if existing is None or existing.assembly_id is None:
            raise JobRefused(refusal)
        assembly = await cost_assemblies.assembly_by_id(tx, existing.assembly_id)
        if assembly is None:
            raise JobRefused(f"assembly of part {import_id} is not visible to its requester's context")
        claimed = None
        if not existing.finished:
            if attempt > max_retries:
                error = gave_up(existing.source_uri, "import", attempt)
                await costs.update_import(tx, import_id, status="failed", error=error, finished_at=func.now())
            else:
                claimed = await costs.claim_import(tx, import_id, retry=attempt > 0)
                if claimed is None:
                    return existing  # another run of this job holds it
    if claimed is not None:
        await _stage(runtime, store, claimed, assembly, requester, interval)
    await _advance(runtime, requester, assembly.id)
    async with job_request(runtime, requester, refusal) as ctx:
        final = await costs.import_by_id(ctx.tx, import_id)
    assert final is not None
    return final


async def _stage(
    runtime: RequestRuntime,
    store: CostStore,
    part: CostImportRecord,
    assembly: CostAssemblyRecord,
    requester: Member,
    interval: float,
) -> None:
    assert part.part_index is not None
    index = part.part_index

    async def stage(progress: Progress) -> dict[str, Any]:
        operator = await operator_slug(runtime, requester, part.tenant_id)
        manifest, resolved = await asyncio.to_thread(_part_at_job_time, runtime.cost_sources, assembly, index, operator)
        staged = await asyncio.to_thread(
            stage_part,
            resolved,
            manifest,
            assembly.manifest_uri,
            store.for_operator(part.tenant_id),
            str(assembly.id),
            index,
            progress.update,
        )
        return {
            "status": "succeeded",
            "rows": staged.rows,
            "bytes": staged.bytes,
            "bytes_total": staged.bytes,
            "format": staged.format,
            "currency": staged.currency,
            "staged": staged.files,
            "error": None,
            "periods": sorted({str(f["period"]) for f in staged.files}),
            "accounts": sorted({str(f["account"]) for f in staged.files}),
        }

    async with reporting(runtime, requester, part.id, interval) as progress:
        fields, unexpected = await engine_outcome(lambda: stage(progress), part.source_uri, f"assembly part {part.id}")
    gone = f"assembly part {part.id} became invisible to its requester's context"
    async with job_request(runtime, requester, gone) as ctx:
        await costs.update_import(ctx.tx, part.id, **fields, finished_at=func.now())
    if unexpected is not None:
        raise unexpected


def _part_at_job_time(
    sources: CostSources, assembly: CostAssemblyRecord, index: int, operator: str
) -> tuple[Manifest, ResolvedLocation]:
    """Manifest and part resolved again, now: the stored texts decide nothing; the sources do."""
    manifest_at = sources.resolve(assembly.manifest_uri, operator)
    manifest = parse_manifest(read_manifest(manifest_at), manifest_at.location)
    if manifest.assembly_key != assembly.assembly_key or len(manifest.parts) != assembly.parts_total:
        raise ManifestError(
            manifest_at.location,
            f"the manifest now describes another delivery ({manifest.assembly_key}); import it again",
        )
    part = sources.resolve(part_location(manifest, index, sources, operator, manifest_at.source), operator)
    if part.source != manifest_at.source:
        raise LocationRefused(f"part {index + 1} of the manifest is outside the manifest's cost source")
    return manifest, part


async def _advance(runtime: RequestRuntime, requester: Member, assembly_id: UUID) -> None:
    """Under the assembly row's lock: fail it on a failed part, or queue its publication once all succeeded."""
    refusal = f"cost assembly {assembly_id} is not visible to its requester's context"
    async with job_request(runtime, requester, refusal) as ctx:
        tx = ctx.tx
        assembly = await cost_assemblies.assembly_by_id(tx, assembly_id, for_update=True)
        if assembly is None or assembly.status is not CostAssemblyStatus.QUEUED:
            return
        parts = await cost_assemblies.parts(tx, assembly_id)
        failed = next((p for p in parts if p.status is CostImportStatus.FAILED), None)
        if failed is not None:
            assert failed.error is not None
            assert failed.part_index is not None
            error = {
                **failed.error,
                "reason": f"part {failed.part_index + 1} of {assembly.parts_total}: "
                f"{failed.error['reason']}; nothing was published",
            }
            await cost_assemblies.update_assembly(tx, assembly_id, status="failed", error=error, finished_at=func.now())
            return
        if len(parts) != assembly.parts_total or any(p.status is not CostImportStatus.SUCCEEDED for p in parts):
            return
        args = {
            "assembly_id": str(assembly_id),
            "tenant_id": str(assembly.tenant_id),
            "user_id": str(requester.user_id),
        }
        job_id = await costs.defer_job(
            tx, queue=COST_QUEUE, task=PUBLISH_TASK, lock=store_lock(assembly.tenant_id), args=json.dumps(args)
        )
        await cost_assemblies.update_assembly(tx, assembly_id, status="publishing", publish_job_id=job_id)
