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
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import func

from cost import CostError, CostStore, ImportResult, InputError, LateData, LockedPeriodError, import_file
from cost.sources import Source
from db.cost_records import CostImportRecord
from db.errors import PolicyViolation
from db.pagination import Page
from db.queries import costs
from db.session import Database, DbContext
from policies.principal import Role, TenantKind
from resolvers.context import RequestContext
from resolvers.errors import Forbidden, InvalidInput, NotFound
from resolvers.pages import PageRequest

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


class JobRefused(Exception):
    """The job's manifest is not visible to its requester's context any more (role revoked, row gone)."""


def require_store(ctx: RequestContext) -> CostStore:
    if ctx.cost_store is None:
        raise RuntimeError("no cost store configured for this request")
    return ctx.cost_store


def _checked_location(path: str, roots: tuple[Path, ...] | None) -> tuple[str, str, int | None]:
    """(location, display name, size if known now) of a server-side path or an object-store URI.

    Local paths must lie inside one of `roots` (after resolving links), so an import cannot read, and echo
    in its error, an arbitrary file of the server; `None` (development) allows any absolute path.
    """
    location = path.strip()
    if not location:
        raise InvalidInput("give a server-side file path or an s3:// URI", field="path")
    if "://" in location:
        if not location.startswith(("s3://", "gs://", "file://")):
            raise InvalidInput("supported URIs are s3://, gs:// and file://", field="path")
        return location, location.rstrip("/").rsplit("/", 1)[-1], None
    if not os.path.isabs(location):
        raise InvalidInput("a server-side path must be absolute", field="path")
    if roots is not None:
        real = Path(os.path.realpath(location))
        if not any(real.is_relative_to(Path(os.path.realpath(root))) for root in roots):
            raise InvalidInput("local imports are limited to the folders in ROUNDPOOL_COST_IMPORT_ROOTS", field="path")
    if not os.path.isfile(location):
        raise InvalidInput(f"no such file on the server: {location}", field="path")
    return location, os.path.basename(location), os.path.getsize(location)


async def import_cost_report(
    ctx: RequestContext, path: str, late_data: LateData = LateData.REJECT
) -> CostImportRecord:
    """Queue an import of `path` for the acting operator; returns the manifest (status queued).

    `late_data` (kept on the manifest, read by the job): REJECT fails the import when the file has rows of a
    locked period; CORRECTIONS re-homes them into the next open period as corrections.
    """
    acting = ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR)
    location, name, size = _checked_location(path, ctx.cost_import_roots)
    async with ctx.tx.savepoint():
        try:
            record = await costs.insert_import(ctx.tx, acting.id, location, name, size, late_data.value)
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
    return await costs.imports_page(ctx.tx, acting.id, page.after, page.first)


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
    context: DbContext,
    *,
    attempt: int = 0,
    max_retries: int = 2,
    interval: float = PROGRESS_INTERVAL_S,
) -> CostImportRecord:
    """Run one queued import as `context` (the requesting billing admin); returns the final manifest.

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
    async with database.transaction(context) as tx:
        existing = await costs.import_by_id(tx, import_id)
        if existing is None:
            raise JobRefused(f"cost import {import_id} is not visible to its requester's context")
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
    reporter = asyncio.create_task(_report(database, context, import_id, progress, interval))
    unexpected: BaseException | None = None
    try:
        size = await asyncio.to_thread(lambda: Source.open(manifest.source_uri).size)
        async with database.transaction(context) as tx:
            await costs.update_import(tx, import_id, bytes_total=size)
        result = await asyncio.to_thread(
            import_file,
            manifest.source_uri,
            store.for_operator(manifest.tenant_id),  # the manifest's operator: its own catalog, locks, dedup
            on_progress=progress.update,
            locked_periods=locked,
            late_data=LateData(manifest.late_data),
        )
        fields: dict[str, Any] = _succeeded(result)
        if result.already_imported and attempt > 0:
            async with database.transaction(context) as tx:
                if not await costs.imported_before(tx, manifest.tenant_id, result.sha256, import_id):
                    fields["status"] = "succeeded"  # published by this job's attempt that the crash cut short
    except (CostError, OSError) as error:
        fields = {"status": "failed", "error": error_details(error, manifest.source_uri)}
    except Exception as error:  # recorded, then re-raised so the queue marks the job failed too
        _logger.exception("cost import %s failed unexpectedly", import_id)
        fields = {"status": "failed", "error": {"file": manifest.source_uri, "row": None, "column": None,
                                                "reason": "internal error; see the worker's log"}}
        unexpected = error
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
    async with database.transaction(context) as tx:
        final = await costs.update_import(tx, import_id, **fields, finished_at=func.now())
    if unexpected is not None:
        raise unexpected
    if final is None:
        raise JobRefused(f"cost import {import_id} became invisible to its requester's context")
    return final


async def _report(
    database: Database, context: DbContext, import_id: UUID, progress: _Progress, interval: float
) -> None:
    last = (0, 0)
    while True:
        await asyncio.sleep(interval)
        current = progress.read()
        if current != last:
            async with database.transaction(context) as tx:
                await costs.record_progress(tx, import_id, *current)
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
        "rehomed": [r.__dict__ for r in result.rehomed],
        "error": None,
    }


def error_details(error: BaseException, location: str) -> dict[str, Any]:
    """The manifest's `error`: where (file, 1-based data row, column) and why."""
    if isinstance(error, InputError):
        return {"file": error.file, "row": error.row, "column": error.column, "reason": error.reason}
    if isinstance(error, LockedPeriodError):
        return {"file": error.file, "row": None, "column": None,
                "reason": f"billing period {error.period} is locked (its invoice is closed)"}
    return {"file": location, "row": None, "column": None, "reason": str(error)}
