"""The background job queue (procrastinate on the same PostgreSQL): its app and its tasks.

Tasks call the same functions the resolvers and tests call (:func:`resolvers.cost_imports.run_import`).
A job's arguments are ids only — the manifest row and the requester's user and operator tenant — and all
its database work runs under that requester's context, so a job bypasses no policy.

Where workers run: `roundpool worker` (production: one or more processes beside the server); the embedded
default (`roundpool serve` without DATABASE_URL) starts one inside the server's lifespan; `roundpool cost
import --wait` runs the queue in-process until its job ends when no worker is alive.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import procrastinate
from sqlalchemy import text

from cost import CostStore
from db.session import Database, DbContext
from resolvers.cost_imports import COST_QUEUE, IMPORT_TASK, STORE_LOCK, run_import
from resolvers.invoice_jobs import INVOICE_QUEUE, register_invoice_tasks

QUEUES = [COST_QUEUE, INVOICE_QUEUE]
# A worker that has not sent a heartbeat for this long counts as gone.
WORKER_STALE_S = 30


def create_job_app(app_url: str, database: Database, store: CostStore) -> procrastinate.App:
    """The queue for the app role's DSN `app_url`; tasks use `database` and `store` (created by the caller)."""
    connector = procrastinate.PsycopgConnector(conninfo=app_url, min_size=1, max_size=4)
    app = procrastinate.App(connector=connector)

    @app.task(name=IMPORT_TASK, queue=COST_QUEUE, lock=STORE_LOCK)
    async def import_cost_report(import_id: str, tenant_id: str, user_id: str) -> None:
        context = DbContext(user_id=UUID(user_id), tenant_id=UUID(tenant_id))
        await run_import(database, store, UUID(import_id), context)

    register_invoice_tasks(app, database, store)
    return app


async def live_workers(database: Database) -> int:
    """Workers with a recent heartbeat (procrastinate's table, no tenant data; read on the engine directly)."""
    async with database.engine.connect() as conn:
        statement = text(
            "select count(*) from procrastinate_workers"
            " where last_heartbeat > now() - make_interval(secs => :s)"
        )
        return int((await conn.execute(statement, {"s": WORKER_STALE_S})).scalar_one())


@asynccontextmanager
async def in_process_worker(app_url: str, database: Database, store: CostStore) -> AsyncIterator[procrastinate.App]:
    """A worker running as a task of the current event loop for the duration of the block."""
    job_app = create_job_app(app_url, database, store)
    async with job_app.open_async():
        worker = asyncio.create_task(
            job_app.run_worker_async(queues=QUEUES, install_signal_handlers=False, name="in-process")
        )
        try:
            yield job_app
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker


async def run_queued_jobs(job_app: procrastinate.App) -> None:
    """Process the jobs waiting now, then return (`wait=False`): the CLI when no worker is alive, and tests."""
    await job_app.run_worker_async(queues=QUEUES, wait=False, install_signal_handlers=False, name="once")
