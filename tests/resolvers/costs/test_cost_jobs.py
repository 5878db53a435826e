"""The one end-to-end test of the queue: importCostReport defers a real procrastinate job in the request's
transaction, and a worker (the app role, as in production) picks it up and runs it."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg

from cost import CostStore
from cost.locations import CostSources
from db.session import Database
from resolvers.costs.imports import COST_QUEUE, IMPORT_TASK
from resolvers.jobs import create_job_app, run_queued_jobs
from tests.plugins.cost_files import write_legacy_csv
from tests.plugins.costs import COST_IMPORT, COST_IMPORT_STATUS
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import GraphQL, row_id
from tests.plugins.world import World


async def test_import_is_deferred_and_run_by_a_worker(
    cost_gql: GraphQL,
    world: World,
    database: Database,
    cost_store: CostStore,
    test_database: TestDatabase,
    owner_conn: psycopg.Connection,
    tmp_path: Path,
) -> None:
    # Jobs queued by other tests (run inline there) are not this worker's business.
    owner_conn.execute("update procrastinate_jobs set status = 'cancelled' where status = 'todo'")
    admin = world.actor("billing_admin")
    path = write_legacy_csv(tmp_path / "cur.csv", [{"lineItem/UsageAccountId": uuid.uuid4().hex[:12]}] * 5)
    queued = (await cost_gql(admin, COST_IMPORT, {"path": str(path)}))["data"]["importCostReport"]
    job = owner_conn.execute(
        "select j.queue_name, j.task_name, j.lock, j.args, j.status from procrastinate_jobs j"
        " join cost_imports i on i.job_id = j.id where i.id = %s",
        (row_id(queued["id"]),),
    ).fetchone()
    assert job is not None
    assert job[:3] == (COST_QUEUE, IMPORT_TASK, f"cost-store:{admin.tenant_id}")  # one lock per operator
    assert str(job[4]) == "todo"
    assert job[3] == {
        "import_id": str(row_id(queued["id"])),
        "tenant_id": str(admin.tenant_id),
        "user_id": str(admin.user_id),
    }

    job_app = create_job_app(test_database.app_url, database, cost_store, sources=CostSources.development())
    async with job_app.open_async():
        await run_queued_jobs(job_app)

    status = (await cost_gql(admin, COST_IMPORT_STATUS, {"id": queued["id"]}))["data"]["costImport"]
    assert status["status"] == "SUCCEEDED"
    assert status["rowsProcessed"] == 5
    finished = owner_conn.execute(
        "select j.status from procrastinate_jobs j join cost_imports i on i.job_id = j.id where i.id = %s",
        (row_id(queued["id"]),),
    ).fetchone()
    assert finished is not None
    assert str(finished[0]) == "succeeded"


def test_the_frozen_queue_schema_is_the_installed_procrastinates() -> None:
    """Upgrading procrastinate changes its schema: add a revision with its migrations, then refreeze."""
    from procrastinate.schema import SchemaManager

    from db.third_party import third_party_sql

    assert third_party_sql("procrastinate_3_10.sql") == SchemaManager.get_schema()


async def test_the_embedded_server_runs_a_worker_in_its_lifespan(
    cost_gql: GraphQL,
    world: World,
    cost_store: CostStore,
    test_database: TestDatabase,
    owner_conn: psycopg.Connection,
    tmp_path: Path,
) -> None:
    import asyncio

    from schema.app import create_app
    from schema.settings import Settings
    from tests.plugins.graphql import JWT_SECRET

    owner_conn.execute("update procrastinate_jobs set status = 'cancelled' where status = 'todo'")
    settings = Settings(database_url=None, jwt_secret=JWT_SECRET, cost_store=cost_store.root)
    app = create_app(settings, test_database.app_url)
    admin = world.actor("billing_admin")
    path = write_legacy_csv(tmp_path / "cur.csv", [{"lineItem/UsageAccountId": uuid.uuid4().hex[:12]}] * 2)
    async with app.router.lifespan_context(app):
        queued = (await cost_gql(admin, COST_IMPORT, {"path": str(path)}))["data"]["importCostReport"]
        for _ in range(100):
            status = (await cost_gql(admin, COST_IMPORT_STATUS, {"id": queued["id"]}))["data"]["costImport"]
            if status["status"] not in ("QUEUED", "RUNNING"):
                break
            await asyncio.sleep(0.1)
    assert status["status"] == "SUCCEEDED"
    assert status["rowsProcessed"] == 2
