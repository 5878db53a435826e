"""The scheduled store vacuum: one job per operator under its store lock, run by a real worker as the app role,
deletes an abandoned import folder and keeps the folder of an assembly still staging."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import strawberry

from cost import CostStore
from cost.locations import CostSources, LocalSource
from db.session import Database
from resolvers.common.principals import Member
from resolvers.costs.assembly_parts import run_assembly_part
from resolvers.costs.jobs import VACUUM_SCHEDULE_TASK
from resolvers.costs.store_vacuum import VACUUM_TASK, queue_vacuums
from resolvers.job_recovery import JobTimings
from resolvers.jobs import create_job_app, run_queued_jobs
from schema.settings import Settings
from tests.plugins.costs import ASSEMBLY_IMPORT, assembly_gql, mirror
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import row_id
from tests.plugins.world import World


async def test_a_scheduled_vacuum_removes_an_abandoned_folder_and_keeps_a_staging_one(
    schema: strawberry.Schema,
    world: World,
    database: Database,
    cost_store: CostStore,
    settings: Settings,
    test_database: TestDatabase,
    owner_conn: psycopg.Connection,
    tmp_path: Path,
) -> None:
    owner_conn.execute("update procrastinate_jobs set status = 'cancelled' where status = 'todo'")
    root = tmp_path / "bucket"
    sources = CostSources((LocalSource("bucket", str(root)),))
    gql = assembly_gql(database, schema, settings, cost_store, sources)
    admin = world.actor("billing_admin")
    assert admin.tenant_id is not None
    assert admin.user_id is not None
    result = await gql(admin, ASSEMBLY_IMPORT, {"manifest": str(mirror(root, "alpha", "a1"))})
    queued = result["data"]["importCostAssembly"]
    assert queued["__typename"] == "CostAssembly", result
    context = Member(admin.user_id, admin.tenant_id)
    await run_assembly_part(database, cost_store, row_id(queued["parts"][0]["id"]), context, sources=sources)
    store = cost_store.for_operator(admin.tenant_id)
    staging = Path(store.import_dir(str(row_id(queued["id"]))))  # one part staged, the other not yet
    abandoned = Path(store.import_dir("dead-attempt"))
    await asyncio.to_thread(abandoned.mkdir, parents=True)
    await asyncio.to_thread((abandoned / "part-0.parquet").write_bytes, b"left by a killed worker")

    job_app = create_job_app(test_database.app_url, database, cost_store, sources=sources)
    async with job_app.open_async():
        assert await queue_vacuums(job_app, database) >= 1
        assert await queue_vacuums(job_app, database) == 0  # one waiting per operator, whatever the ticks
        job = owner_conn.execute(
            "select queue_name, lock, args, status from procrastinate_jobs where task_name = %s"
            " and args->>'tenant_id' = %s and status = 'todo'",
            (VACUUM_TASK, str(admin.tenant_id)),
        ).fetchall()
        assert [(j[0], j[1], str(j[3])) for j in job] == [("costs", f"cost-store:{admin.tenant_id}", "todo")]
        assert job[0][2] == {"tenant_id": str(admin.tenant_id), "user_id": str(admin.user_id)}
        assert await asyncio.to_thread(abandoned.is_dir)
        await run_queued_jobs(job_app)

    assert not await asyncio.to_thread(abandoned.exists)
    assert await asyncio.to_thread((staging / "part-00000").is_dir)
    done = owner_conn.execute(
        "select status from procrastinate_jobs where task_name = %s and args->>'tenant_id' = %s",
        (VACUUM_TASK, str(admin.tenant_id)),
    ).fetchall()
    assert [str(d[0]) for d in done] == ["succeeded"]


async def test_the_vacuum_schedule_follows_its_setting_and_zero_turns_it_off(
    database: Database,
    cost_store: CostStore,
    test_database: TestDatabase,
) -> None:
    def crons(timings: JobTimings) -> list[str]:
        app = create_job_app(test_database.app_url, database, cost_store, timings)
        return [p.cron for p in app.periodic_registry.periodic_tasks.values() if p.task.name == VACUUM_SCHEDULE_TASK]

    assert crons(JobTimings.of(Settings())) == ["0 */6 * * *"]  # ROUNDPOOL_STORE_VACUUM_INTERVAL_S default: 6 h
    assert crons(JobTimings(store_vacuum_interval_s=1800)) == ["*/30 * * * *"]
    assert crons(JobTimings(store_vacuum_interval_s=0)) == []
