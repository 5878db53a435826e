"""`roundpool cost import` and `roundpool worker`.

`cost import` queues the job through the resolver of `importCostReport` (same checks, same transaction
shape, same policies: the file must lie in a configured cost source, see :mod:`cost.locations`).
With `--wait` it follows the manifest's progress (bytes) until the job ends; when no
worker has sent a heartbeat lately it runs the queue in-process (procrastinate, `wait=False`: the jobs
queued now, then it stops), so the command works on a laptop with the embedded database and nothing else.
Before that it retries the jobs of dead workers (one of them may hold this operator's store lock), and it
switches to running the queue itself when the workers it was following stop heartbeating.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

import procrastinate
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from cli.runtime import CliError, Runtime, load_settings, prepare, split_legacy_store, user_id_by_email
from cli.worker_health import beat, heartbeat_path, unhealthy
from cost import CostStore, LateData
from cost.scratch import remove_abandoned
from db.cost_records import CostImportRecord
from db.queries import costs
from db.session import Database
from policies.principal import Principal
from resolvers.common.errors import ApiError
from resolvers.common.principals import AuthenticationFailed, Member, TenantNotAllowed
from resolvers.common.request import RequestRuntime, open_request
from resolvers.costs import imports as cost_imports
from resolvers.job_recovery import JobTimings, recover_stalled_jobs
from resolvers.jobs import WORKER_QUEUES, create_job_app, live_workers, run_queued_jobs
from resolvers.jobs import run_worker as run_job_worker
from schema.execution_options import request_runtime
from schema.heap import freeze_start_up_heap
from schema.settings import Settings

err = Console(stderr=True, soft_wrap=True)  # an error stays one line, whatever the terminal width
POLL_S = 0.5
T = TypeVar("T")
Gone = Callable[[], Awaitable[bool]]  # True once nobody runs the queue any more


def summary(record: CostImportRecord) -> dict[str, Any]:
    return {
        "id": str(record.id),
        "status": record.status,
        "rows": record.rows,
        "bytes": record.bytes,
        "periods": list(record.periods),
        "accounts": list(record.accounts),
        "late_data": record.late_data,
        "rehomed": list(record.rehomed),
        "error": record.error,
    }


async def _queue(
    requests: RequestRuntime, member: Member, path: str, late_data: LateData
) -> tuple[CostImportRecord, Principal]:
    async with open_request(requests, member, request_id=uuid.uuid4().hex) as ctx:
        record = await cost_imports.import_cost_report(ctx, path, late_data)
    return record, ctx.require_principal()


async def _follow(
    runtime: RequestRuntime, principal: Principal, import_id: UUID, quiet: bool, gone: Gone
) -> CostImportRecord | None:
    """The manifest once finished; None when `gone()` said that nobody runs the queue any more."""
    nobody = False
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, disable=quiet) as bar:
        task = bar.add_task("queued", total=None)
        while True:
            async with open_request(runtime, principal, request_id=uuid.uuid4().hex) as ctx:
                record = await costs.import_by_id(ctx.tx, import_id)
            if record is None:
                raise CliError(f"cost import {import_id} is no longer visible to you")
            bar.update(
                task,
                description=f"{record.status} · {record.rows:,} rows",
                completed=record.bytes,
                total=record.bytes_total,
            )
            if record.finished:
                return record
            if nobody:  # read once more after `gone()`: the job may have finished just before
                return None
            nobody = await gone()
            await asyncio.sleep(POLL_S)


def run_cost_import(
    path: str, user: str, tenant: str, *, wait: bool, as_json: bool, late_data: LateData = LateData.REJECT
) -> int:
    try:
        settings = load_settings()
        runtime: Runtime = prepare(settings)
        user_id = UUID(user_id_by_email(runtime.location, user))
    except CliError as error:
        err.print(f"[red]error:[/red] {error}")
        return 1
    store = CostStore(settings.cost_store_root)
    member = Member(user_id, tenant)
    try:
        record = asyncio.run(_import(settings, runtime, store, member, path, late_data, wait=wait, quiet=as_json))
    except (ApiError, CliError, AuthenticationFailed, TenantNotAllowed) as error:
        err.print(f"[red]error:[/red] {getattr(error, 'message', error)}")
        return 1
    return _report(record, as_json)


async def _import(
    settings: Settings,
    runtime: Runtime,
    store: CostStore,
    member: Member,
    path: str,
    late_data: LateData,
    *,
    wait: bool,
    quiet: bool,
) -> CostImportRecord:
    """Queue the import; with `wait`, follow it on the workers, or run the queue here when none is alive."""
    timings = JobTimings.of(settings)
    database = Database(runtime.location.app_url, pool_size=4, statement_timeout_ms=settings.statement_timeout_ms)

    async def no_worker() -> bool:
        return not await live_workers(database, timings.stalled_after_s)

    requests = request_runtime(settings, database, store)
    try:
        record, principal = await _queue(requests, member, path, late_data)
        if not wait:
            return record
        if not await no_worker():
            followed = await _follow(requests, principal, record.id, quiet, no_worker)
            if followed is not None:
                return followed
        err.print("no worker is running: processing the queue in this process")
        job_app = create_job_app(
            runtime.location.app_url, database, store, timings, sources=settings.cost_import_sources
        )
        followed = await run_queue_here(
            job_app, timings, lambda gone: _follow(requests, principal, record.id, quiet, gone)
        )
        if followed is None:
            raise CliError(
                f"cost import {record.id} is still waiting: another import of this operator holds its store"
                " lock on a worker that stopped less than ROUNDPOOL_JOB_STALLED_AFTER_S ago; start"
                " `roundpool worker` (it resumes both)"
            )
        return followed
    finally:
        await database.dispose()


async def run_queue_here(
    job_app: procrastinate.App, timings: JobTimings, follow: Callable[[Gone], Awaitable[T | None]]
) -> T | None:
    """Run the queued jobs in this process (the dead workers' first) while `follow` watches; its answer."""
    async with job_app.open_async():
        await recover_stalled_jobs(job_app, timings.stalled_after_s)
        worker = asyncio.create_task(run_queued_jobs(job_app))

        async def worker_done() -> bool:
            return worker.done()

        try:
            return await follow(worker_done)
        finally:
            await worker


def _report(record: CostImportRecord, as_json: bool) -> int:
    if as_json:
        print(json.dumps(summary(record)))
    elif record.status == "failed" and record.error:
        e = record.error
        where = ", ".join(f"{k} {e[k]}" for k in ("row", "column") if e.get(k) is not None)
        err.print(f"[red]failed:[/red] {e.get('file')}{' (' + where + ')' if where else ''}: {e.get('reason')}")
    else:
        periods = ", ".join(record.periods) or "none"
        err.print(f"cost import {record.id}: {record.status}, {record.rows:,} rows, periods {periods}")
        for moved in record.rehomed:
            err.print(
                f"  {moved['rows']:,} rows of closed {moved['source_period']} re-homed to "
                f"{moved['target_period']} as corrections"
            )
    return 2 if record.status == "failed" else 0


def check_worker() -> int:
    """`roundpool worker --check`: 0 when the worker of this data folder heartbeated lately (a health probe)."""
    try:
        settings = load_settings()
    except CliError as error:
        err.print(f"[red]error:[/red] {error}")
        return 1
    problem = unhealthy(heartbeat_path(settings.home), settings.job_stalled_after_s)
    if problem:
        err.print(f"[red]unhealthy:[/red] {problem}")
        return 1
    return 0


def run_worker() -> int:
    """Run the job queue until interrupted (SIGINT/SIGTERM finish the current job first)."""
    try:
        settings = load_settings()
        runtime = prepare(settings)
    except CliError as error:
        err.print(f"[red]error:[/red] {error}")
        return 1
    store = CostStore(settings.cost_store_root)
    try:
        timings = JobTimings.of(settings)
    except ValueError as error:
        err.print(f"[red]error:[/red] {error}")
        return 1

    for path in remove_abandoned():
        err.print(f"worker: removed {path}, left behind by an import that stopped")
    heartbeat = heartbeat_path(settings.home)

    async def run() -> None:
        app_url = runtime.location.app_url
        database = Database(app_url, pool_size=4, statement_timeout_ms=settings.statement_timeout_ms)
        try:
            job_app = create_job_app(app_url, database, store, timings, sources=settings.cost_import_sources)
            async with job_app.open_async():
                freeze_start_up_heap()
                err.print(f"worker: queues {', '.join(WORKER_QUEUES)}; cost store {store.root}")
                health = asyncio.create_task(beat(database, heartbeat, timings.heartbeat_s))
                try:
                    await run_job_worker(job_app, timings, name="roundpool-worker")
                finally:
                    health.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await health
        finally:
            heartbeat.unlink(missing_ok=True)
            await database.dispose()

    asyncio.run(run())
    return 0


def run_migrate_store() -> int:
    """Split the old single-catalog store by operator (``prepare`` does it when migrating; this reports)."""
    try:
        settings = load_settings()
        runtime = prepare(settings, migrate=False)
    except CliError as error:
        err.print(f"[red]error:[/red] {error}")
        return 1
    result = split_legacy_store(settings, runtime.location.owner_url)
    for operator, count in sorted(result.imports.items(), key=lambda item: str(item[0])):
        err.print(f"operator {operator}: {count} imports moved")
    for sha in result.unattributed:
        err.print(f"[yellow]left in the old root:[/yellow] import {sha} (no operator's manifest published it)")
    if not result.imports and not result.unattributed:
        err.print("the cost store has no old catalog; nothing to do")
    return 0
