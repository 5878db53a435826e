"""The background job queue (procrastinate on the same PostgreSQL): its app, assembled from each domain's tasks
(:func:`resolvers.costs.jobs.register_tasks`, :func:`resolvers.billing.jobs.register_tasks`), and its workers.

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

import procrastinate
from procrastinate import JobContext
from sqlalchemy import text

from cost import CostStore
from cost.locations import NO_SOURCES, CostSources
from db.location import driver_dsn
from db.session import Database
from resolvers.billing.jobs import INVOICE_QUEUE
from resolvers.billing.jobs import register_tasks as register_billing_tasks
from resolvers.costs.imports import COST_QUEUE
from resolvers.costs.jobs import register_tasks as register_cost_tasks
from resolvers.job_recovery import MAINTENANCE_QUEUE, JobTimings, recover_stalled_jobs

QUEUES = [COST_QUEUE, INVOICE_QUEUE]
WORKER_QUEUES = [*QUEUES, MAINTENANCE_QUEUE]
RECOVERY_TASK = "recover_stalled_jobs"
# Finished recovery jobs (one per interval) are deleted after this long.
_KEEP_MAINTENANCE_JOBS_H = 1


def create_job_app(
    app_url: str,
    database: Database,
    store: CostStore,
    timings: JobTimings | None = None,
    *,
    sources: CostSources = NO_SOURCES,
) -> procrastinate.App:
    """The queue for the app role's DSN `app_url`; tasks use `database` and `store` (created by the caller).

    Imports read only from `sources` (configuration; the default refuses every location). Registered report
    sources are synced every `timings.report_sync_interval_s`, every operator's store is vacuumed every
    `timings.store_vacuum_interval_s` (unless 0).
    """
    timings = timings or JobTimings()
    dsn = driver_dsn(app_url)
    connector = procrastinate.PsycopgConnector(conninfo=dsn.conninfo, kwargs=dsn.connect_args, min_size=1, max_size=4)
    app = procrastinate.App(
        connector=connector,
        worker_defaults={
            "update_heartbeat_interval": timings.heartbeat_s,
            "stalled_worker_timeout": timings.stalled_after_s,
        },
    )

    register_cost_tasks(app, database, store, timings, sources=sources)
    register_billing_tasks(app, database, store, timings)

    @app.periodic(cron=timings.recovery_cron, periodic_id="stalled")
    @app.task(name=RECOVERY_TASK, queue=MAINTENANCE_QUEUE, queueing_lock=RECOVERY_TASK, pass_context=True)
    async def recover(job: JobContext, timestamp: int) -> None:
        await recover_stalled_jobs(job.app, timings.stalled_after_s)
        await job.app.job_manager.delete_old_jobs(nb_hours=_KEEP_MAINTENANCE_JOBS_H, queue=MAINTENANCE_QUEUE)

    return app


async def live_workers(database: Database, stalled_after_s: float) -> int:
    """Workers heard from within `stalled_after_s` (procrastinate's table, no tenant data; read on the engine)."""
    async with database.engine.connect() as conn:
        statement = text(
            "select count(*) from procrastinate_workers where last_heartbeat > now() - make_interval(secs => :s)"
        )
        return int((await conn.execute(statement, {"s": stalled_after_s})).scalar_one())


async def run_worker(
    job_app: procrastinate.App, timings: JobTimings, *, name: str, install_signal_handlers: bool = True
) -> None:
    """A long-running worker: first the jobs of workers that died while none was running, then the queues."""
    await recover_stalled_jobs(job_app, timings.stalled_after_s)
    await job_app.run_worker_async(queues=WORKER_QUEUES, name=name, install_signal_handlers=install_signal_handlers)


@asynccontextmanager
async def in_process_worker(
    app_url: str,
    database: Database,
    store: CostStore,
    timings: JobTimings | None = None,
    *,
    sources: CostSources = NO_SOURCES,
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
