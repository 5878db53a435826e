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
import contextlib
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import func

from cost import CostError, CostStore, ImportResult, InputError, LateData, LockedPeriodError, import_file
from cost.errors import SourceError
from cost.locations import NO_SOURCES, CostSources, ResolvedLocation
from db.cost_records import CostImportRecord
from db.errors import PolicyViolation
from db.pagination import Page
from db.queries import costs, tenancy
from db.session import Database
from policies.principal import Role, TenantKind
from resolvers.common.context import RequestContext
from resolvers.common.errors import Forbidden, InvalidInput, NotFound
from resolvers.common.job_requests import JobRefused, job_request
from resolvers.common.pages import PageRequest
from resolvers.common.principals import Member
from resolvers.common.request import RequestRuntime

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
        raise NotFound(f"no cost import {import_id} is visible to you")
    return record


async def cost_imports(ctx: RequestContext, page: PageRequest) -> Page[CostImportRecord]:
    acting = ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR)
    return await costs.imports_page(ctx.tx, acting.id, page)


# -- the job -----------------------------------------------------------------------------------------------


@dataclass
class _Progress:
    bytes: int = 0
    rows: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def update(self, bytes_read: int, rows: int) -> None:  # called on the import's thread
        with self._lock:
            self.bytes, self.rows = bytes_read, rows

    def read(self) -> tuple[int, int]:
        with self._lock:
            return self.bytes, self.rows


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
    async with job_request(runtime, requester, refusal) as ctx:
        tx = ctx.tx
        existing = await costs.import_by_id(tx, import_id)
        if existing is None:
            raise JobRefused(refusal)
        if existing.finished:
            return existing  # the worker died after the manifest's last write
        if attempt > max_retries:
            reason = f"the worker stopped during the import; retried {attempt - 1} times"
            _logger.error("cost import %s: %s", import_id, reason)
            error = {"file": existing.source_uri, "row": None, "column": None, "reason": reason}
            given_up = await costs.update_import(tx, import_id, status="failed", error=error, finished_at=func.now())
            assert given_up is not None
            return given_up
        manifest = await costs.claim_import(tx, import_id, retry=attempt > 0)
        locked = [] if manifest is None else await costs.locked_periods(tx, manifest.tenant_id)
    if manifest is None:
        return existing  # claimed by another run of this job, not a retry: never run twice
    progress = _Progress()
    reporter = asyncio.create_task(_report(runtime, requester, import_id, progress, interval))
    unexpected: BaseException | None = None
    try:
        # Resolved again, now: the stored location is only text; `sources` decides what it may open.
        source = await _resolve_for_job(runtime, requester, manifest.tenant_id, manifest.source_uri, sources)
        async with job_request(runtime, requester, refusal) as ctx:
            await costs.update_import(ctx.tx, import_id, bytes_total=source.size)
        result = await asyncio.to_thread(
            import_file,
            source.path,
            store.for_operator(manifest.tenant_id),  # the manifest's operator: its own catalog, locks, dedup
            on_progress=progress.update,
            locked_periods=locked,
            late_data=manifest.late_data,
            filesystem=source.filesystem,
        )
        fields: dict[str, Any] = _succeeded(result)
        if result.already_imported and attempt > 0:
            async with job_request(runtime, requester, refusal) as ctx:
                if not await costs.imported_before(ctx.tx, manifest.tenant_id, result.sha256, import_id):
                    fields["status"] = "succeeded"  # published by this job's attempt that the crash cut short
    except (CostError, OSError) as error:
        fields = {"status": "failed", "error": error_details(error, manifest.source_uri)}
    except Exception as error:  # recorded, then re-raised so the queue marks the job failed too
        _logger.exception("cost import %s failed unexpectedly", import_id)
        fields = {
            "status": "failed",
            "error": {
                "file": manifest.source_uri,
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
    gone = f"cost import {import_id} became invisible to its requester's context"
    async with job_request(runtime, requester, gone) as ctx:
        final = await costs.update_import(ctx.tx, import_id, **fields, finished_at=func.now())
    if unexpected is not None:
        raise unexpected
    if final is None:
        raise JobRefused(gone)
    return final


async def _report(
    runtime: RequestRuntime, requester: Member, import_id: UUID, progress: _Progress, interval: float
) -> None:
    """Until cancelled; a requester refused mid-import stops the reports (the final stage refuses the job)."""
    last = (0, 0)
    while True:
        await asyncio.sleep(interval)
        current = progress.read()
        if current != last:
            try:
                async with job_request(runtime, requester, "progress refused") as ctx:
                    await costs.record_progress(ctx.tx, import_id, *current)
            except JobRefused:
                return
            last = current


def _succeeded(result: ImportResult) -> dict[str, Any]:
    return {
        "status": "duplicate" if result.already_imported else "succeeded",
        "sha256": result.sha256,
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


async def _resolve_for_job(
    runtime: RequestRuntime, requester: Member, operator_id: UUID, location: str, sources: CostSources
) -> ResolvedLocation:
    async with job_request(runtime, requester, f"operator {operator_id} is not visible to the requester") as ctx:
        found = await tenancy.tenants_by_ids(ctx.tx, [operator_id])
    operator = found[0].slug if found else ""
    return await asyncio.to_thread(sources.resolve, location, operator)


def error_details(error: BaseException, location: str) -> dict[str, Any]:
    """The manifest's `error`: where (the manifest's location, 1-based data row, column) and why.

    The reason is the engine's own sentence, which quotes file content only once the file was recognised
    as a billing file; an operating-system or object-store error (whose text may quote a server's answer)
    is logged and reported without its text.
    """
    row: int | None = None
    column: str | None = None
    if isinstance(error, InputError):
        row, column, reason = error.row, error.column, error.reason
    elif isinstance(error, LockedPeriodError):
        reason = f"billing period {error.period} is locked (its invoice is closed)"
    elif isinstance(error, SourceError):
        reason = error.reason
    elif isinstance(error, CostError):
        reason = str(error)
    else:
        _logger.warning("cost import of %s could not read its file", location, exc_info=error)
        reason = "the file could not be read; see the worker's log"
    return {"file": location, "row": row, "column": column, "reason": reason}
