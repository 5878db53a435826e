"""The cost domain's tasks on the job queue: imports, assembly parts and their publication, report source syncs
and store vacuums, with the periodic tasks that schedule the last two.

Each task runs the function the resolvers and tests call, under the requester's context from its arguments
(ids only). Register them on the queue's app with :func:`register_tasks`.
"""

from __future__ import annotations

from uuid import UUID

import procrastinate
from procrastinate import JobContext

from cost import CostStore
from cost.locations import CostSources
from db.session import Database
from resolvers.common.principals import Member
from resolvers.costs.assemblies import PART_TASK
from resolvers.costs.assembly_parts import PUBLISH_TASK, run_assembly_part
from resolvers.costs.assembly_publication import run_assembly_publication
from resolvers.costs.imports import COST_QUEUE, IMPORT_TASK, run_import
from resolvers.costs.report_sources import SYNC_TASK, queue_due_syncs, run_report_source_sync
from resolvers.costs.store_vacuum import VACUUM_TASK, queue_vacuums, run_store_vacuum
from resolvers.job_recovery import MAINTENANCE_QUEUE, JobTimings, interval_cron

SYNC_SCHEDULE_TASK = "schedule_report_syncs"
VACUUM_SCHEDULE_TASK = "schedule_store_vacuums"
_JOB_PAGE_SIZE = 100


def register_tasks(
    app: procrastinate.App, database: Database, store: CostStore, timings: JobTimings, *, sources: CostSources
) -> None:
    """Add the cost tasks to the queue's app. Imports read only from `sources` (configuration); registered
    report sources are synced every `timings.report_sync_interval_s`, every operator's store is vacuumed every
    `timings.store_vacuum_interval_s` (unless 0)."""
    _register_imports(app, database, store, timings, sources)
    _register_maintenance(app, database, store, timings, sources)


def _register_imports(
    app: procrastinate.App, database: Database, store: CostStore, timings: JobTimings, sources: CostSources
) -> None:
    # No lock here: the request defers the job with its operator's store lock (resolvers.costs.imports).
    @app.task(name=IMPORT_TASK, queue=COST_QUEUE, pass_context=True)
    async def import_cost_report(job: JobContext, import_id: str, tenant_id: str, user_id: str) -> None:
        requester = Member(UUID(user_id), UUID(tenant_id))
        await run_import(
            database,
            store,
            UUID(import_id),
            requester,
            attempt=job.job.attempts,
            max_retries=timings.max_retries,
            sources=sources,
        )

    # Parts carry no lock (any worker stages any part); the publication is deferred with the store lock.
    @app.task(name=PART_TASK, queue=COST_QUEUE, pass_context=True)
    async def import_cost_assembly_part(job: JobContext, import_id: str, tenant_id: str, user_id: str) -> None:
        requester = Member(UUID(user_id), UUID(tenant_id))
        await run_assembly_part(
            database,
            store,
            UUID(import_id),
            requester,
            attempt=job.job.attempts,
            max_retries=timings.max_retries,
            sources=sources,
        )

    @app.task(name=PUBLISH_TASK, queue=COST_QUEUE, pass_context=True)
    async def publish_cost_assembly(job: JobContext, assembly_id: str, tenant_id: str, user_id: str) -> None:
        requester = Member(UUID(user_id), UUID(tenant_id))
        await run_assembly_publication(
            database,
            store,
            UUID(assembly_id),
            requester,
            attempt=job.job.attempts,
            max_retries=timings.max_retries,
        )


def _register_maintenance(
    app: procrastinate.App, database: Database, store: CostStore, timings: JobTimings, sources: CostSources
) -> None:
    """Report source syncs and store vacuums, each with the periodic task that schedules it."""

    @app.task(name=SYNC_TASK, queue=COST_QUEUE)
    async def sync_report_source(source_id: str, tenant_id: str, user_id: str) -> None:
        requester = Member(UUID(user_id), UUID(tenant_id))
        await run_report_source_sync(
            database, store, UUID(source_id), requester, sources=sources, max_page_size=_JOB_PAGE_SIZE
        )

    @app.periodic(cron=interval_cron(timings.report_sync_interval_s), periodic_id="report-sources")
    @app.task(name=SYNC_SCHEDULE_TASK, queue=MAINTENANCE_QUEUE, queueing_lock=SYNC_SCHEDULE_TASK, pass_context=True)
    async def schedule_report_syncs(job: JobContext, timestamp: int) -> None:
        await queue_due_syncs(job.app, database)

    # Deferred by the schedule with the operator's store lock (resolvers.costs.store_vacuum).
    @app.task(name=VACUUM_TASK, queue=COST_QUEUE)
    async def vacuum_cost_store(tenant_id: str, user_id: str) -> None:
        await run_store_vacuum(database, store, Member(UUID(user_id), UUID(tenant_id)))

    if timings.store_vacuum_interval_s:

        @app.periodic(cron=interval_cron(timings.store_vacuum_interval_s), periodic_id="store-vacuum")
        @app.task(
            name=VACUUM_SCHEDULE_TASK, queue=MAINTENANCE_QUEUE, queueing_lock=VACUUM_SCHEDULE_TASK, pass_context=True
        )
        async def schedule_store_vacuums(job: JobContext, timestamp: int) -> None:
            await queue_vacuums(job.app, database)
