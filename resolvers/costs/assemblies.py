"""Importing an assembly (a manifest and its parts): the request, the part jobs, the publication job.

The request (:func:`queue_assembly`) reads the manifest from a configured source, resolves every part in that
same source (a part missing, outside it, or an unlisted data file beside the parts → a precise refusal,
nothing queued), inserts the assembly row and one `cost_imports` row per part, and defers one job per part,
all in the request's transaction. The same delivery (source, report, period, assemblyId/executionId) again
is recorded as ``duplicate`` and queues nothing.

Part jobs (:func:`run_assembly_part`) carry no lock: any number of workers stage parts concurrently, each into
its own folder of the operator's store, unpublished. The part that finds, under the assembly row's lock
(``select … for update``), every part succeeded queues the one publication job
(:func:`run_assembly_publication`) under the operator's store lock, the lock single-file imports take: the
catalog's writers stay serialised per operator. A failed part fails the assembly with its reason; nothing is
published. A part whose worker died is retried by stalled-job recovery and starts again from an empty folder.
Every job works under its requester's context, like :func:`resolvers.costs.imports.run_import`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import func

from cost import CostError, CostStore, LateData
from cost.assemblies import part_location, read_manifest, resolve_parts, stage_part
from cost.assembly_publication import catalog_source, publish_assembly
from cost.errors import LocationRefused, SourceError
from cost.locations import NO_SOURCES, CostSources, ResolvedLocation
from cost.manifests import Manifest, ManifestError, parse_manifest
from db.cost_records import AssemblyProgress, CostAssemblyRecord, CostImportRecord
from db.errors import PolicyViolation
from db.pagination import Page
from db.queries import cost_assemblies, costs, tenancy
from db.session import Database
from policies.principal import TenantKind
from resolvers.common.context import RequestContext
from resolvers.common.errors import Forbidden, InvalidInput, NotFound
from resolvers.common.job_requests import JobRefused, job_request
from resolvers.common.pages import PageRequest
from resolvers.common.principals import Member
from resolvers.common.request import RequestRuntime
from resolvers.costs.imports import (
    BILLING_ADMINS,
    COST_QUEUE,
    _Progress,
    _report,
    error_details,
    store_lock,
)

PART_TASK = "import_cost_assembly_part"
PUBLISH_TASK = "publish_cost_assembly"

_logger = logging.getLogger("roundpool.jobs")


@dataclass(frozen=True)
class AssemblyView:
    """An assembly, its per-part progress summed, and its parts (what `costAssembly` shows)."""

    record: CostAssemblyRecord
    progress: AssemblyProgress
    parts: list[CostImportRecord]


def _open_manifest(
    sources: CostSources, location: str, operator: str
) -> tuple[ResolvedLocation, Manifest, list[ResolvedLocation]]:
    manifest_at = sources.resolve(location, operator)
    manifest = parse_manifest(read_manifest(manifest_at), manifest_at.location)
    return manifest_at, manifest, resolve_parts(manifest, manifest_at, sources, operator)


async def queue_assembly(
    ctx: RequestContext, manifest: str, late_data: LateData = LateData.REJECT
) -> CostAssemblyRecord:
    """Queue the import of the assembly whose manifest is at `manifest` for the acting operator."""
    acting = ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR)
    try:
        manifest_at, parsed, parts = await asyncio.to_thread(_open_manifest, ctx.cost_sources, manifest, acting.slug)
    except SourceError as error:
        raise InvalidInput(error.reason, field="manifest") from None
    except ManifestError as error:
        raise InvalidInput(str(error), field="manifest") from None
    except (CostError, OSError):
        _logger.warning("manifest %s could not be read", manifest, exc_info=True)
        raise InvalidInput("the manifest could not be read; see the server's log", field="manifest") from None
    async with ctx.tx.savepoint():
        try:
            earlier = await cost_assemblies.same_delivery(
                ctx.tx, acting.id, manifest_at.source, parsed.report, parsed.period, parsed.assembly_key
            )
            record = await cost_assemblies.insert_assembly(
                ctx.tx,
                acting.id,
                manifest_uri=manifest_at.location,
                source_name=manifest_at.source,
                kind=parsed.kind.value,
                report=parsed.report,
                period=parsed.period,
                assembly_key=parsed.assembly_key,
                parts_total=len(parts),
                late_data=late_data.value,
            )
            if earlier is not None:
                done = await cost_assemblies.update_assembly(
                    ctx.tx, record.id, status="duplicate", finished_at=func.now()
                )
                assert done is not None
                return done
            for index, part in enumerate(parts):
                row = await cost_assemblies.insert_part(ctx.tx, record, index, part.location, part.name, part.size)
                args = {"import_id": str(row.id), "tenant_id": str(acting.id), "user_id": str(ctx.tx.context.user_id)}
                job_id = await costs.defer_job(
                    ctx.tx, queue=COST_QUEUE, task=PART_TASK, lock=None, args=json.dumps(args)
                )
                await costs.update_import(ctx.tx, row.id, job_id=job_id)
        except PolicyViolation as error:
            raise Forbidden("only the operator's billing admins import cost reports") from error
    return record


async def cost_assembly(ctx: RequestContext, assembly_id: UUID) -> AssemblyView:
    ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR)
    record = await cost_assemblies.assembly_by_id(ctx.tx, assembly_id)
    if record is None:
        raise NotFound(f"no cost assembly {assembly_id} is visible to you")
    progress = (await cost_assemblies.progress(ctx.tx, [record.id])).get(record.id, AssemblyProgress(0, 0, 0, 0, 0))
    return AssemblyView(record, progress, await cost_assemblies.parts(ctx.tx, record.id))


async def cost_assemblies_page(ctx: RequestContext, page: PageRequest) -> Page[AssemblyView]:
    """A page of the operator's assemblies with their progress and parts (three queries, whatever the size)."""
    acting = ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR)
    records = await cost_assemblies.assemblies_page(ctx.tx, acting.id, page)
    ids = [r.id for r in records.items]
    progress = await cost_assemblies.progress(ctx.tx, ids) if ids else {}
    parts = await cost_assemblies.parts_of(ctx.tx, ids) if ids else {}
    empty = AssemblyProgress(0, 0, 0, 0, 0)
    return records.with_items([AssemblyView(r, progress.get(r.id, empty), parts[r.id]) for r in records.items])


# -- the part job ------------------------------------------------------------------------------------------


async def _operator_slug(runtime: RequestRuntime, requester: Member, operator_id: UUID) -> str:
    async with job_request(runtime, requester, f"operator {operator_id} is not visible to the requester") as ctx:
        found = await tenancy.tenants_by_ids(ctx.tx, [operator_id])
    return found[0].slug if found else ""


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
                reason = f"the worker stopped during the import; retried {attempt - 1} times"
                error = {"file": existing.source_uri, "row": None, "column": None, "reason": reason}
                await costs.update_import(tx, import_id, status="failed", error=error, finished_at=func.now())
            else:
                claimed = await costs.claim_import(tx, import_id, retry=attempt > 0)
                if claimed is None:
                    return existing  # another run of this job holds it
    if claimed is not None:
        await _stage(runtime, store, claimed, assembly, requester, interval, sources)
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
    sources: CostSources,
) -> None:
    assert part.part_index is not None
    progress = _Progress()
    reporter = asyncio.create_task(_report(runtime, requester, part.id, progress, interval))
    unexpected: BaseException | None = None
    try:
        operator = await _operator_slug(runtime, requester, part.tenant_id)
        manifest, resolved = await asyncio.to_thread(_part_at_job_time, sources, assembly, part.part_index, operator)
        staged = await asyncio.to_thread(
            stage_part,
            resolved,
            manifest,
            assembly.manifest_uri,
            store.for_operator(part.tenant_id),
            str(assembly.id),
            part.part_index,
            progress.update,
        )
        fields: dict[str, Any] = {
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
    except (CostError, OSError) as error:
        fields = {"status": "failed", "error": error_details(error, part.source_uri)}
    except Exception as error:
        _logger.exception("assembly part %s failed unexpectedly", part.id)
        fields = {
            "status": "failed",
            "error": {
                "file": part.source_uri,
                "row": None,
                "column": None,
                "reason": "internal error; see the worker's log",
            },
        }
        unexpected = error
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
    gone = f"assembly part {part.id} became invisible to its requester's context"
    async with job_request(runtime, requester, gone) as ctx:
        await costs.update_import(ctx.tx, part.id, **fields, finished_at=func.now())
    if unexpected is not None:
        raise unexpected


async def _advance(runtime: RequestRuntime, requester: Member, assembly_id: UUID) -> None:
    """Under the assembly row's lock: fail it on a failed part, or queue its publication once all succeeded."""
    refusal = f"cost assembly {assembly_id} is not visible to its requester's context"
    async with job_request(runtime, requester, refusal) as ctx:
        tx = ctx.tx
        assembly = await cost_assemblies.assembly_by_id(tx, assembly_id, for_update=True)
        if assembly is None or assembly.status != "queued":
            return
        parts = await cost_assemblies.parts(tx, assembly_id)
        failed = next((p for p in parts if p.status == "failed"), None)
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
        if len(parts) != assembly.parts_total or any(p.status != "succeeded" for p in parts):
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


# -- the publication job -----------------------------------------------------------------------------------


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
        if assembly.status != "publishing":
            return assembly
        if attempt > max_retries:
            error = {
                "file": assembly.manifest_uri,
                "row": None,
                "column": None,
                "reason": f"the worker stopped during the publication; retried {attempt - 1} times",
            }
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


async def vacuum_store(ctx: RequestContext) -> list[str]:
    """Delete the acting operator's unreferenced import folders, keeping those of assemblies still staging or
    publishing (their parts write without the store lock); returns the folders removed. Run it under the
    operator's store lock (:mod:`resolvers.costs.store_vacuum`)."""
    acting = ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR)
    if ctx.cost_store is None:
        raise RuntimeError("no cost store configured")
    store = ctx.cost_store.for_operator(acting.id)
    # Listed first: a part that creates its folder later belongs to an assembly committed before its job ran,
    # which the staging ids read next (a statement of its own, read committed) then include.
    listed = await asyncio.to_thread(store.import_folders)
    keep = await cost_assemblies.staging_ids(ctx.tx, acting.id)
    return await asyncio.to_thread(store.vacuum, in_progress=keep, among=listed)
