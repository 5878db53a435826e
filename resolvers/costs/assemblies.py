"""Importing an assembly (a manifest and its parts): the request, and reading where assemblies stand.

The request (:func:`queue_assembly`) reads the manifest from a configured source, resolves every part in that
same source (a part missing, outside it, or an unlisted data file beside the parts → a precise refusal,
nothing queued), inserts the assembly row and one `cost_imports` row per part, and defers one job per part,
all in the request's transaction. The same delivery (source, report, period, assemblyId/executionId) again
is recorded as ``duplicate`` and queues nothing.

Part jobs (:mod:`resolvers.costs.assembly_parts`) stage the parts, unpublished, and the last one queues the
publication (:mod:`resolvers.costs.assembly_publication`) under the operator's store lock.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import func

from cost import CostError, LateData
from cost.assemblies import read_manifest, resolve_parts
from cost.errors import SourceError
from cost.locations import CostSources, ResolvedLocation
from cost.manifests import Manifest, ManifestError, parse_manifest
from db.cost_records import AssemblyProgress, CostAssemblyRecord, CostImportRecord
from db.errors import PolicyViolation
from db.pagination import Page
from db.queries import cost_assemblies, costs
from policies.principal import TenantKind
from resolvers.common.context import RequestContext
from resolvers.common.errors import Forbidden, InvalidInput, NotFound
from resolvers.common.pages import PageRequest
from resolvers.costs.imports import BILLING_ADMINS, COST_QUEUE
from resolvers.global_ids import encode_global_id

PART_TASK = "import_cost_assembly_part"

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
        raise NotFound(f"no cost assembly {encode_global_id('CostAssembly', assembly_id)} is visible to you")
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
