"""Importing billing files: a billing admin queues an import, a background job runs the engine.

The request inserts the manifest row (`cost_imports`) and defers the job in the same transaction, so both
exist or neither does. The job (:func:`run_import`, what the procrastinate task calls, and what tests call
directly) works under the requesting billing admin's own context (user and operator tenant, carried in the
job's arguments and checked against the manifest row under RLS): a job can do nothing its requester could
not. The engine runs on a thread; progress reaches the manifest at most once per interval, each time in a
short transaction of its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from uuid import UUID

from sqlalchemy import func

from cost import CostStore, ImportResult, LateData, import_file
from cost.errors import SourceError
from cost.locations import NO_SOURCES, CostSources, ResolvedLocation
from db.cost_records import CostImportRecord
from db.errors import PolicyViolation
from db.pagination import Page
from db.queries import costs
from db.session import Database
from policies.principal import Role, TenantKind
from resolvers.common.context import RequestContext
from resolvers.common.errors import Forbidden, InvalidInput, NotFound
from resolvers.common.job_requests import JobRefused, job_request
from resolvers.common.pages import PageRequest
from resolvers.common.principals import Member
from resolvers.common.request import RequestRuntime
from resolvers.costs.import_runs import Progress, engine_outcome, gave_up, operator_slug, reporting
from resolvers.global_ids import encode_global_id

COST_QUEUE = "costs"
IMPORT_TASK = "import_cost_report"
# An operator's store catalog is a read-modify-write: its imports run one at a time (a procrastinate lock per
# operator, so one operator's imports never wait for another's).
STORE_LOCK = "cost-store"
PROGRESS_INTERVAL_S = 1.0
BILLING_ADMINS = frozenset({Role.BILLING_ADMIN})

_logger = logging.getLogger("roundpool.jobs")


def store_lock(operator_id: UUID) -> str:
    return f"{STORE_LOCK}:{operator_id}"


def require_store(ctx: RequestContext) -> CostStore:
    if ctx.cost_store is None:
        raise RuntimeError("no cost store configured for this request")
    return ctx.cost_store


async def _checked_location(ctx: RequestContext, path: str, operator: str) -> ResolvedLocation:
    """The file `path` names in a cost source the acting operator may use (configuration, not input).

    Every refusal is one `InvalidInput` on `path` that quotes nothing of the target; the job resolves the
    stored location again when it runs, so an edited manifest cannot reach further than the request could.
    """
    try:
        return await asyncio.to_thread(ctx.cost_sources.resolve, path, operator)
    except SourceError as error:
        raise InvalidInput(error.reason, field="path") from None


async def import_cost_report(ctx: RequestContext, path: str, late_data: LateData = LateData.REJECT) -> CostImportRecord:
    """Queue an import of `path` for the acting operator; returns the manifest (status queued).

    `late_data` (kept on the manifest, read by the job): REJECT fails the import when the file has rows of a
    locked period; CORRECTIONS re-homes them into the next open period as corrections.
    """
    acting = ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR)
    resolved = await _checked_location(ctx, path, acting.slug)
    async with ctx.tx.savepoint():
        try:
            record = await costs.insert_import(
                ctx.tx, acting.id, resolved.location, resolved.name, resolved.size, late_data.value
            )
            args = {"import_id": str(record.id), "tenant_id": str(acting.id), "user_id": str(ctx.tx.context.user_id)}
            job_id = await costs.defer_job(
                ctx.tx, queue=COST_QUEUE, task=IMPORT_TASK, lock=store_lock(acting.id), args=json.dumps(args)
            )
            queued = await costs.update_import(ctx.tx, record.id, job_id=job_id)
        except PolicyViolation as error:
            raise Forbidden("only the operator's billing admins import cost reports") from error
    assert queued is not None
    return queued


async def cost_import(ctx: RequestContext, import_id: UUID) -> CostImportRecord:
    ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR)
    record = await costs.import_by_id(ctx.tx, import_id)
    if record is None:
        raise NotFound(f"no cost import {encode_global_id('CostImport', import_id)} is visible to you")
    return record


async def cost_imports(ctx: RequestContext, page: PageRequest) -> Page[CostImportRecord]:
    acting = ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR)
    return await costs.imports_page(ctx.tx, acting.id, page)


# -- the job -----------------------------------------------------------------------------------------------


async def run_import(
    database: Database,
    store: CostStore,
    import_id: UUID,
    requester: Member,
    *,
    attempt: int = 0,
    max_retries: int = 2,
    interval: float = PROGRESS_INTERVAL_S,
    sources: CostSources = NO_SOURCES,
) -> CostImportRecord:
    """Run one queued import as `requester` (the requesting billing admin); returns the final manifest.
    Each stage is its own request (resolvers/common/job_requests.py).

    Input problems (the engine's :class:`~cost.errors.InputError`, a locked period) end as status
    ``failed`` with ``error = {file, row, column, reason}`` and nothing published, unless the manifest asked for
    ``late_data = 'corrections'``: then rows of locked periods are re-homed into the next open period and the
    manifest's ``rehomed`` says which periods went where. The same content imported before ends as
    ``duplicate`` whatever the mode (its ``rehomed`` is the first import's). Any other error is recorded as
    failed, then re-raised for the queue.

    `attempt` > 0: the queue retried the job because its worker died (``attempt`` times so far). The import
    runs again from the start, which is safe: nothing was published (publication is one atomic catalog
    write, and the dead attempt's unpublished folder is left for :meth:`~cost.store.CostStore.vacuum`), or
    everything was, and the file is then found in the catalog. Past `max_retries` it ends ``failed``.
    """
    runtime = RequestRuntime(database, max_page_size=1, cost_store=store, cost_sources=sources)
    refusal = f"cost import {import_id} is not visible to its requester's context"
    claimed = await _claim(runtime, requester, import_id, refusal, attempt, max_retries)
    if isinstance(claimed, CostImportRecord):
        return claimed
    manifest, locked = claimed
    async with reporting(runtime, requester, import_id, interval) as progress:
        fields, unexpected = await engine_outcome(
            lambda: _import(runtime, store, requester, manifest, locked, progress, attempt, refusal),
            manifest.source_uri,
            f"cost import {import_id}",
        )
    gone = f"cost import {import_id} became invisible to its requester's context"
    async with job_request(runtime, requester, gone) as ctx:
        final = await costs.update_import(ctx.tx, import_id, **fields, finished_at=func.now())
    if unexpected is not None:
        raise unexpected
    if final is None:
        raise JobRefused(gone)
    return final


async def _claim(
    runtime: RequestRuntime, requester: Member, import_id: UUID, refusal: str, attempt: int, max_retries: int
) -> CostImportRecord | tuple[CostImportRecord, list[str]]:
    """The claimed manifest and the operator's locked periods, or the manifest as it stays (finished, given up,
    or held by another run of this job: never run twice)."""
    async with job_request(runtime, requester, refusal) as ctx:
        existing = await costs.import_by_id(ctx.tx, import_id)
        if existing is None:
            raise JobRefused(refusal)
        if existing.finished:
            return existing  # the worker died after the manifest's last write
        if attempt > max_retries:
            error = gave_up(existing.source_uri, "import", attempt)
            _logger.error("cost import %s: %s", import_id, error["reason"])
            given_up = await costs.update_import(
                ctx.tx, import_id, status="failed", error=error, finished_at=func.now()
            )
            assert given_up is not None
            return given_up
        manifest = await costs.claim_import(ctx.tx, import_id, retry=attempt > 0)
        if manifest is None:
            return existing
        return manifest, await costs.locked_periods(ctx.tx, manifest.tenant_id)


async def _import(
    runtime: RequestRuntime,
    store: CostStore,
    requester: Member,
    manifest: CostImportRecord,
    locked: list[str],
    progress: Progress,
    attempt: int,
    refusal: str,
) -> dict[str, Any]:
    # Resolved again, now: the stored location is only text; the sources decide what it may open.
    operator = await operator_slug(runtime, requester, manifest.tenant_id)
    source = await asyncio.to_thread(runtime.cost_sources.resolve, manifest.source_uri, operator)
    async with job_request(runtime, requester, refusal) as ctx:
        await costs.update_import(ctx.tx, manifest.id, bytes_total=source.size)
    result = await asyncio.to_thread(
        import_file,
        source.path,
        store.for_operator(manifest.tenant_id),  # the manifest's operator: its own catalog, locks, dedup
        on_progress=progress.update,
        locked_periods=locked,
        late_data=manifest.late_data,
        filesystem=source.filesystem,
    )
    fields = _succeeded(result)
    if result.already_imported and attempt > 0:
        async with job_request(runtime, requester, refusal) as ctx:
            if not await costs.imported_before(ctx.tx, manifest.tenant_id, result.digest, manifest.id):
                fields["status"] = "succeeded"  # published by this job's attempt that the crash cut short
    return fields


def _succeeded(result: ImportResult) -> dict[str, Any]:
    return {
        "status": "duplicate" if result.already_imported else "succeeded",
        "digest": result.digest,
        "format": result.format,
        "currency": result.currency,
        "rows": result.rows,
        "bytes": result.bytes,
        "bytes_total": result.bytes,
        "periods": list(result.periods),
        "accounts": list(result.accounts),
        "rehomed": [r.to_record() for r in result.rehomed],
        "error": None,
    }
