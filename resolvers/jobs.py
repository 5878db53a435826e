"""The background job queue (procrastinate on the same PostgreSQL): its app and its tasks.

Tasks call the same functions the resolvers and tests call (:func:`resolvers.costs.imports.run_import`).
A job's arguments are ids only — the manifest row and the requester's user and operator tenant — and all
its database work runs under that requester's context, so a job bypasses no policy.

Where workers run: `roundpool worker` (production: one or more processes beside the server); the embedded
default (`roundpool serve` without DATABASE_URL) starts one inside the server's lifespan; `roundpool cost
import --wait` runs the queue in-process until its job ends when no worker is alive.

Jobs survive the death of their worker (:mod:`resolvers.job_recovery`): every worker heartbeats, retries the
stalled jobs of dead workers when it starts and every few seconds after (a periodic task on
:data:`MAINTENANCE_QUEUE`), and each task resumes safely or, past its retry budget, ends its record failed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import procrastinate
from procrastinate import JobContext
from sqlalchemy import text

from cost import CostStore
from cost.locations import NO_SOURCES, CostSources
from db.session import Database, DbContext
from resolvers.billing.invoice_jobs import INVOICE_QUEUE, register_invoice_tasks
from resolvers.costs.assemblies import PART_TASK, PUBLISH_TASK, run_assembly_part, run_assembly_publication
from resolvers.costs.imports import COST_QUEUE, IMPORT_TASK, run_import
from resolvers.costs.report_sources import SYNC_TASK, queue_due_syncs, run_report_source_sync
from resolvers.costs.store_vacuum import VACUUM_TASK, queue_vacuums, run_store_vacuum
from resolvers.job_recovery import JobTimings, interval_cron, recover_stalled_jobs

QUEUES = [COST_QUEUE, INVOICE_QUEUE]
# Recovery and queue housekeeping: only long-running workers listen here (not the CLI's one-shot run).
MAINTENANCE_QUEUE = "maintenance"
WORKER_QUEUES = [*QUEUES, MAINTENANCE_QUEUE]
RECOVERY_TASK = "recover_stalled_jobs"
SYNC_SCHEDULE_TASK = "schedule_report_syncs"
VACUUM_SCHEDULE_TASK = "schedule_store_vacuums"
_JOB_PAGE_SIZE = 100
# Finished recovery jobs (one per interval) are deleted after this long.
_KEEP_MAINTENANCE_JOBS_H = 1


def create_job_app(
    app_url: str, database: Database, store: CostStore, timings: JobTimings | None = None,
    *, sources: CostSources = NO_SOURCES,
) -> procrastinate.App:
    """The queue for the app role's DSN `app_url`; tasks use `database` and `store` (created by the caller).

    Imports read only from `sources` (configuration; the default refuses every location). Registered report
    sources are synced every `timings.report_sync_interval_s`, every operator's store is vacuumed every
    `timings.store_vacuum_interval_s` (unless 0).
    """
    timings = timings or JobTimings()
    connector = procrastinate.PsycopgConnector(conninfo=app_url, min_size=1, max_size=4)
    app = procrastinate.App(
        connector=connector,
        worker_defaults={
            "update_heartbeat_interval": timings.heartbeat_s,
            "stalled_worker_timeout": timings.stalled_after_s,
        },
    )

    # No lock here: the request defers the job with its operator's store lock (resolvers.costs.imports).
    @app.task(name=IMPORT_TASK, queue=COST_QUEUE, pass_context=True)
    async def import_cost_report(job: JobContext, import_id: str, tenant_id: str, user_id: str) -> None:
        context = DbContext(user_id=UUID(user_id), tenant_id=UUID(tenant_id))
        await run_import(
            database, store, UUID(import_id), context, attempt=job.job.attempts, max_retries=timings.max_retries,
            sources=sources,
        )

    # Parts carry no lock (any worker stages any part); the publication is deferred with the store lock.
    @app.task(name=PART_TASK, queue=COST_QUEUE, pass_context=True)
    async def import_cost_assembly_part(job: JobContext, import_id: str, tenant_id: str, user_id: str) -> None:
        context = DbContext(user_id=UUID(user_id), tenant_id=UUID(tenant_id))
        await run_assembly_part(
            database, store, UUID(import_id), context, attempt=job.job.attempts, max_retries=timings.max_retries,
            sources=sources,
        )

    @app.task(name=PUBLISH_TASK, queue=COST_QUEUE, pass_context=True)
    async def publish_cost_assembly(job: JobContext, assembly_id: str, tenant_id: str, user_id: str) -> None:
        context = DbContext(user_id=UUID(user_id), tenant_id=UUID(tenant_id))
        await run_assembly_publication(
            database, store, UUID(assembly_id), context, attempt=job.job.attempts, max_retries=timings.max_retries,
        )

    @app.periodic(cron=timings.recovery_cron, periodic_id="stalled")
    @app.task(name=RECOVERY_TASK, queue=MAINTENANCE_QUEUE, queueing_lock=RECOVERY_TASK, pass_context=True)
    async def recover(job: JobContext, timestamp: int) -> None:
        await recover_stalled_jobs(job.app, timings.stalled_after_s)
        await job.app.job_manager.delete_old_jobs(nb_hours=_KEEP_MAINTENANCE_JOBS_H, queue=MAINTENANCE_QUEUE)

    @app.task(name=SYNC_TASK, queue=COST_QUEUE)
    async def sync_report_source(source_id: str, tenant_id: str, user_id: str) -> None:
        context = DbContext(user_id=UUID(user_id), tenant_id=UUID(tenant_id))
        await run_report_source_sync(database, store, UUID(source_id), context, sources=sources,
                                     max_page_size=_JOB_PAGE_SIZE)

    @app.periodic(cron=interval_cron(timings.report_sync_interval_s), periodic_id="report-sources")
    @app.task(name=SYNC_SCHEDULE_TASK, queue=MAINTENANCE_QUEUE, queueing_lock=SYNC_SCHEDULE_TASK, pass_context=True)
    async def schedule_report_syncs(job: JobContext, timestamp: int) -> None:
        await queue_due_syncs(job.app, database)

    # Deferred by the schedule with the operator's store lock (resolvers.costs.store_vacuum).
    @app.task(name=VACUUM_TASK, queue=COST_QUEUE)
    async def vacuum_cost_store(tenant_id: str, user_id: str) -> None:
        await run_store_vacuum(database, store, DbContext(user_id=UUID(user_id), tenant_id=UUID(tenant_id)))

    if timings.store_vacuum_interval_s:
        @app.periodic(cron=interval_cron(timings.store_vacuum_interval_s), periodic_id="store-vacuum")
        @app.task(name=VACUUM_SCHEDULE_TASK, queue=MAINTENANCE_QUEUE, queueing_lock=VACUUM_SCHEDULE_TASK,
                  pass_context=True)
        async def schedule_store_vacuums(job: JobContext, timestamp: int) -> None:
            await queue_vacuums(job.app, database)

    register_invoice_tasks(app, database, store, timings.max_retries)
    return app


async def live_workers(database: Database, stalled_after_s: float) -> int:
    """Workers heard from within `stalled_after_s` (procrastinate's table, no tenant data; read on the engine)."""
    async with database.engine.connect() as conn:
        statement = text(
            "select count(*) from procrastinate_workers"
            " where last_heartbeat > now() - make_interval(secs => :s)"
        )
        return int((await conn.execute(statement, {"s": stalled_after_s})).scalar_one())


async def run_worker(
    job_app: procrastinate.App, timings: JobTimings, *, name: str, install_signal_handlers: bool = True
) -> None:
    """A long-running worker: first the jobs of workers that died while none was running, then the queues."""
    await recover_stalled_jobs(job_app, timings.stalled_after_s)
    await job_app.run_worker_async(
        queues=WORKER_QUEUES, name=name, install_signal_handlers=install_signal_handlers
    )


@asynccontextmanager
async def in_process_worker(
    app_url: str, database: Database, store: CostStore, timings: JobTimings | None = None,
    *, sources: CostSources = NO_SOURCES,
) -> AsyncIterator[procrastinate.App]:
    """A worker running as a task of the current event loop for the duration of the block."""
    timings = timings or JobTimings()
    job_app = create_job_app(app_url, database, store, timings, sources=sources)
    async with job_app.open_async():
        worker = asyncio.create_task(run_worker(job_app, timings, name="in-process", install_signal_handlers=False))
        try:
            yield job_app
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker


async def run_queued_jobs(job_app: procrastinate.App) -> None:
    """Process the jobs waiting now, then return (`wait=False`): the CLI when no worker is alive, and tests."""
    await job_app.run_worker_async(queues=QUEUES, wait=False, install_signal_handlers=False, name="once")
