"""Report sources through GraphQL as the real app role: registered only inside a configured cost source,
synced (on demand, by the scheduled task of a real worker) into assemblies, each delivery queued once, and
shown with their last assembly, its status and the lag."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import strawberry

from cost import CostStore
from cost.locations import CostSources, LocalSource
from db.session import Database
from resolvers.costs.jobs import SYNC_SCHEDULE_TASK
from resolvers.job_recovery import JobTimings
from resolvers.jobs import create_job_app, run_worker
from schema.settings import CostSourceSetting, Settings
from tests.plugins.cost_files import LEGACY_HEADER, write_legacy_csv
from tests.plugins.costs import (
    ASSEMBLY_STATUS,
    COSTS,
    REGISTER_SOURCE,
    assembly_gql,
    assign,
    legacy_manifest,
    legacy_rows,
    mirror,
    new_accounts,
    run_assembly,
)
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import GraphQL, row_id
from tests.plugins.world import World

SYNC = "mutation { syncReportSources { sourceId queuedAssemblyIds known problems } }"
SOURCES = """
{ costSources { id location format source lateData lastSyncedAt lastManifestModifiedAt lastError lastAssemblyId
                lastAssemblyStatus lagSeconds } }"""
ASSEMBLIES = "{ costAssemblies(first: 10) { totalCount edges { node { id status report partsDone } } } }"


def _count(owner: psycopg.Connection, table: str, tenant: uuid.UUID | None) -> int:
    row = owner.execute(f"select count(*) from {table} where tenant_id = %s", (tenant,)).fetchone()
    assert row is not None
    return int(row[0])


async def _ok(gql: GraphQL, actor: Any, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    result = await gql(actor, query, variables)
    assert "errors" not in result, result
    return result["data"]


async def test_a_location_outside_the_configured_sources_is_refused_and_nothing_is_stored(
    schema: strawberry.Schema,
    world: World,
    database: Database,
    cost_store: CostStore,
    settings: Settings,
    owner_conn: psycopg.Connection,
    tmp_path: Path,
) -> None:
    root, elsewhere = tmp_path / "bucket", tmp_path / "elsewhere"
    (root / "cur").mkdir(parents=True)
    elsewhere.mkdir()
    (root / "link").symlink_to(elsewhere)
    gql = assembly_gql(database, schema, settings, cost_store, CostSources((LocalSource("bucket", str(root)),)))
    admin = world.actor("billing_admin")
    before = _count(owner_conn, "cost_report_sources", admin.tenant_id)

    for location in (
        str(elsewhere),
        f"{root}/../elsewhere",
        f"{root}/link",
        "s3://bucket/cur",
        "http://169.254.169.254/latest",
        "cur",
        f"{root}/missing",
        f"{root}/cur?x=1",
    ):
        refused = (await _ok(gql, admin, REGISTER_SOURCE, {"location": location, "format": "LEGACY_CUR"}))[
            "registerReportSource"
        ]
        assert (refused["__typename"], refused["field"]) == ("InvalidInput", "location"), (location, refused)
        assert str(elsewhere) not in refused["message"]
    outsider = (
        await _ok(
            gql, world.actor("startup_owner"), REGISTER_SOURCE, {"location": f"{root}/cur", "format": "LEGACY_CUR"}
        )
    )["registerReportSource"]
    assert outsider["__typename"] == "NotAllowed", outsider
    assert _count(owner_conn, "cost_report_sources", admin.tenant_id) == before
    assert _count(owner_conn, "cost_report_sources", world.tenants["startup"]) == 0

    registered = (await _ok(gql, admin, REGISTER_SOURCE, {"location": f"{root}/cur/", "format": "LEGACY_CUR"}))[
        "registerReportSource"
    ]
    assert (registered["__typename"], registered["location"], registered["source"]) == (
        "ReportSource",
        f"{root}/cur",
        "bucket",
    ), registered
    again = (await _ok(gql, admin, REGISTER_SOURCE, {"location": f"{root}/cur", "format": "LEGACY_CUR"}))[
        "registerReportSource"
    ]
    assert again["id"] == registered["id"]
    other = (await _ok(gql, admin, REGISTER_SOURCE, {"location": f"{root}/cur", "format": "FOCUS"}))[
        "registerReportSource"
    ]
    assert (other["__typename"], other["field"]) == ("InvalidInput", "format"), other
    assert _count(owner_conn, "cost_report_sources", admin.tenant_id) == before + 1
    other = (
        await _ok(gql, admin, REGISTER_SOURCE, {"location": f"{root}/cur", "format": "LEGACY_CUR", "late": "REJECT"})
    )["registerReportSource"]
    assert (other["__typename"], other["field"]) == ("InvalidInput", "lateData"), other
    assert _count(owner_conn, "cost_report_sources", admin.tenant_id) == before + 1
    stored = owner_conn.execute(
        "select location, source_name, format, late_data from cost_report_sources where id = %s", (registered["id"],)
    ).fetchone()
    assert stored == (f"{root}/cur", "bucket", "legacy-cur", "corrections")


async def test_a_sync_queues_each_new_delivery_once_and_cost_sources_shows_the_last_assembly(
    schema: strawberry.Schema,
    world: World,
    database: Database,
    cost_store: CostStore,
    settings: Settings,
    owner_conn: psycopg.Connection,
    tmp_path: Path,
) -> None:
    root = tmp_path / "bucket"
    sources = CostSources((LocalSource("bucket", str(root)),))
    gql = assembly_gql(database, schema, settings, cost_store, sources)
    admin = world.actor("billing_admin")
    mirror(root, "alpha", "a1")
    mirror(root, "beta", "b1")
    (root / "cur" / "beta" / "20231101-20231201" / "notes.txt").write_text("not a manifest")
    registered = (await _ok(gql, admin, REGISTER_SOURCE, {"location": f"{root}/cur", "format": "LEGACY_CUR"}))[
        "registerReportSource"
    ]
    never = (await _ok(gql, admin, SOURCES))["costSources"]
    assert [(s["lastAssemblyId"], s["lagSeconds"], s["lastSyncedAt"]) for s in never] == [(None, None, None)]

    first = (await _ok(gql, admin, SYNC))["syncReportSources"]
    assert [(s["sourceId"], len(s["queuedAssemblyIds"]), s["known"], s["problems"]) for s in first] == [
        (registered["id"], 2, 0, [])
    ], first
    assert _count(owner_conn, "cost_assemblies", admin.tenant_id) == 2
    second = (await _ok(gql, admin, SYNC))["syncReportSources"]
    assert [(len(s["queuedAssemblyIds"]), s["known"]) for s in second] == [(0, 2)], second
    assert _count(owner_conn, "cost_assemblies", admin.tenant_id) == 2  # no DUPLICATE row per tick

    listed = (await _ok(gql, admin, ASSEMBLIES))["costAssemblies"]
    assert listed["totalCount"] == 2
    for edge in listed["edges"]:
        status = (await _ok(gql, admin, ASSEMBLY_STATUS, {"id": edge["node"]["id"]}))["costAssembly"]
        await run_assembly(database, cost_store, sources, admin, {"id": edge["node"]["id"], "parts": status["parts"]})
    done = (await _ok(gql, admin, ASSEMBLIES))["costAssemblies"]
    assert sorted((e["node"]["report"], e["node"]["status"], e["node"]["partsDone"]) for e in done["edges"]) == [
        ("alpha", "SUCCEEDED", 2),
        ("beta", "SUCCEEDED", 2),
    ]
    shown = (await _ok(gql, admin, SOURCES))["costSources"][0]
    assert shown["lastAssemblyId"] in first[0]["queuedAssemblyIds"]
    assert shown["lastAssemblyStatus"] == "SUCCEEDED"
    assert shown["lastManifestModifiedAt"] is not None
    assert shown["lastSyncedAt"] is not None
    assert shown["lagSeconds"] is not None
    assert 0 <= shown["lagSeconds"] < 600
    assert shown["lastError"] is None

    # A newer delivery of one report: only it is queued; a manifest naming a missing part is named, not queued.
    mirror(root, "alpha", "a2")
    broken = mirror(root, "beta", "b2")
    (broken.parent / "b2" / "beta-2.csv").unlink()
    third = (await _ok(gql, admin, SYNC))["syncReportSources"][0]
    assert (len(third["queuedAssemblyIds"]), third["known"]) == (1, 0), third
    assert len(third["problems"]) == 1, third
    assert "part 2 of 2" in third["problems"][0], third
    assert _count(owner_conn, "cost_assemblies", admin.tenant_id) == 3
    shown = (await _ok(gql, admin, SOURCES))["costSources"][0]
    assert shown["lastAssemblyStatus"] == "QUEUED"
    assert "part 2 of 2" in shown["lastError"]

    # A startup owner of the same world sees none of it.
    stranger = assembly_gql(database, schema, settings, cost_store, sources)
    other_world_admin = world.actor("startup_owner")
    assert (await stranger(other_world_admin, SOURCES))["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("late", [None, "REJECT"])
async def test_a_reissued_delivery_of_a_closed_month_follows_the_sources_late_data_mode(
    late: str | None,
    cost_gql: GraphQL,
    schema: strawberry.Schema,
    world: World,
    database: Database,
    cost_store: CostStore,
    settings: Settings,
    owner_conn: psycopg.Connection,
    tmp_path: Path,
) -> None:
    """AWS's final rewrite of a month the operator closed: CORRECTIONS (the default) re-homes only the
    difference to what was billed; REJECT fails the assembly with the locked-period reason, nothing changes."""
    root = tmp_path / "bucket"
    sources = CostSources((LocalSource("bucket", str(root)),))
    gql = assembly_gql(database, schema, settings, cost_store, sources)
    admin = world.actor("billing_admin")
    assert admin.tenant_id is not None
    accounts = new_accounts(2)
    rows = legacy_rows(accounts, 30, 3)

    def deliver(key: str, data: list[dict[str, str]]) -> None:
        folder = root / "cur" / "report" / "20231101-20231201" / key
        folder.mkdir(parents=True)
        parts = [
            write_legacy_csv(folder / "report-1.csv", data[:15]),
            write_legacy_csv(folder / "report-2.csv", data[15:]),
        ]
        legacy_manifest(folder.parent, root, parts, LEGACY_HEADER, key)

    async def sync_and_run() -> dict[str, Any]:
        synced = (await _ok(gql, admin, SYNC))["syncReportSources"]
        assert [(len(s["queuedAssemblyIds"]), s["problems"]) for s in synced] == [(1, [])], synced
        assembly_id = synced[0]["queuedAssemblyIds"][0]
        parts = (await _ok(gql, admin, ASSEMBLY_STATUS, {"id": assembly_id}))["costAssembly"]["parts"]
        await run_assembly(database, cost_store, sources, admin, {"id": assembly_id, "parts": parts})
        return dict((await _ok(gql, admin, ASSEMBLY_STATUS, {"id": assembly_id}))["costAssembly"])

    async def billed(period: str) -> Decimal:
        costs = await cost_gql(admin, COSTS, {"period": period, "company": world.slugs["startup"]})
        assert "errors" not in costs, costs
        return sum((Decimal(r["billed"]) for r in costs["data"]["costs"]), Decimal(0))

    variables = {"location": f"{root}/cur", "format": "LEGACY_CUR"} | ({} if late is None else {"late": late})
    deliver("a1", rows)
    registered = (await _ok(gql, admin, REGISTER_SOURCE, variables))["registerReportSource"]
    mode = late or "CORRECTIONS"
    assert registered["lateData"] == mode
    assert [s["lateData"] for s in (await _ok(gql, admin, SOURCES))["costSources"]] == [mode]
    assert (await sync_and_run())["status"] == "SUCCEEDED"
    owner_conn.execute(
        "insert into cost_period_locks (tenant_id, period, reason) values (%s, '2023-11', 'closed')", (admin.tenant_id,)
    )
    await assign(cost_gql, world, accounts)
    november = sum(Decimal(r["lineItem/UnblendedCost"]) for r in rows)
    assert await billed("2023-11") == november
    store = cost_store.for_operator(admin.tenant_id)
    catalog = store.catalog()

    reissued = [dict(r) for r in rows]
    reissued[0]["lineItem/UnblendedCost"] = str(Decimal(rows[0]["lineItem/UnblendedCost"]) + Decimal("2.5"))
    reissued.append({**rows[1], "lineItem/UnblendedCost": "4.000000"})
    deliver("a2", reissued)
    final = await sync_and_run()

    if late is None:
        assert final["status"] == "SUCCEEDED", final
        assert final["rehomed"] == [{"sourcePeriod": "2023-11", "targetPeriod": "2023-12", "rows": 2}]
        assert await billed("2023-12") == Decimal("6.5")
    else:
        assert final["status"] == "FAILED", final
        assert "billing period 2023-11 is locked" in final["error"]["reason"], final
        assert final["rehomed"] == []
        assert store.catalog() == catalog
        assert await billed("2023-12") == 0
    assert await billed("2023-11") == november


async def test_the_scheduled_task_of_a_worker_runs_the_sync(
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
    mirror(root, "alpha", "a1")
    await _ok(gql, admin, REGISTER_SOURCE, {"location": f"{root}/cur", "format": "LEGACY_CUR"})
    timings = JobTimings(heartbeat_s=0.5, stalled_after_s=5, recovery_interval_s=30, report_sync_interval_s=1)
    job_app = create_job_app(test_database.app_url, database, cost_store, timings, sources=sources)
    periodic = [p for p in job_app.periodic_registry.periodic_tasks.values() if p.task.name == SYNC_SCHEDULE_TASK]
    assert [p.cron for p in periodic] == ["* * * * * */1"]

    def published() -> bool:
        row = owner_conn.execute(
            "select status from cost_assemblies where tenant_id = %s", (admin.tenant_id,)
        ).fetchall()
        return row == [("succeeded",)]

    async with job_app.open_async():
        worker = asyncio.create_task(run_worker(job_app, timings, name="sync-test", install_signal_handlers=False))
        try:
            for _ in range(300):
                if published():
                    break
                await asyncio.sleep(0.1)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
    assert published()
    shown = (await _ok(gql, admin, SOURCES))["costSources"][0]
    assert (shown["lastAssemblyStatus"], shown["lastError"]) == ("SUCCEEDED", None), shown


async def test_the_embedded_servers_worker_syncs_at_the_configured_interval(
    schema: strawberry.Schema,
    world: World,
    database: Database,
    cost_store: CostStore,
    test_database: TestDatabase,
    owner_conn: psycopg.Connection,
    tmp_path: Path,
) -> None:
    """`roundpool serve` without DATABASE_URL runs its worker in the lifespan with the same job settings as
    `roundpool worker` (ROUNDPOOL_REPORT_SYNC_INTERVAL_S here; the default 900 s would sync nothing in time)."""
    from schema.app import create_app
    from tests.plugins.graphql import JWT_SECRET

    owner_conn.execute("update procrastinate_jobs set status = 'cancelled' where status = 'todo'")
    root = tmp_path / "bucket"
    mirror(root, "alpha", "a1")
    settings = Settings(
        database_url=None,
        jwt_secret=JWT_SECRET,
        cost_store=cost_store.root,
        cost_sources=[CostSourceSetting(name="bucket", url=str(root))],
        report_sync_interval_s=1,
    )
    gql = assembly_gql(database, schema, settings, cost_store, settings.cost_import_sources)
    admin = world.actor("billing_admin")
    await _ok(gql, admin, REGISTER_SOURCE, {"location": f"{root}/cur", "format": "LEGACY_CUR"})

    def statuses() -> list[tuple[str]]:
        return owner_conn.execute(
            "select status from cost_assemblies where tenant_id = %s", (admin.tenant_id,)
        ).fetchall()

    app = create_app(settings, test_database.app_url)
    async with app.router.lifespan_context(app):
        for _ in range(300):
            if statuses() == [("succeeded",)]:
                break
            await asyncio.sleep(0.1)
    assert statuses() == [("succeeded",)]


async def test_vacuum_keeps_the_folders_of_assemblies_still_importing(
    cost_gql: GraphQL,
    schema: strawberry.Schema,
    world: World,
    database: Database,
    cost_store: CostStore,
    settings: Settings,
    tmp_path: Path,
) -> None:
    from resolvers.common.principals import Member
    from resolvers.common.request import RequestRuntime, open_request
    from resolvers.costs.assemblies import vacuum_store
    from resolvers.costs.assembly_parts import run_assembly_part

    root = tmp_path / "bucket"
    sources = CostSources((LocalSource("bucket", str(root)),))
    gql = assembly_gql(database, schema, settings, cost_store, sources)
    admin = world.actor("billing_admin")
    assert admin.tenant_id is not None
    assert admin.user_id is not None
    queued = (
        await _ok(
            gql,
            admin,
            """mutation($m: String!) { importCostAssembly(manifest: $m) {
        ... on CostAssembly { id parts { id } } } }""",
            {"m": str(mirror(root, "alpha", "a1"))},
        )
    )["importCostAssembly"]
    context = Member(admin.user_id, admin.tenant_id)
    await run_assembly_part(database, cost_store, row_id(queued["parts"][0]["id"]), context, sources=sources)
    store = cost_store.for_operator(admin.tenant_id)
    staging = Path(store.import_dir(str(row_id(queued["id"]))))
    # One part staged, the other not yet: the assembly is still importing.
    assert await asyncio.to_thread((staging / "part-00000").is_dir)
    orphan = Path(store.import_dir("dead-attempt"))
    await asyncio.to_thread(orphan.mkdir, parents=True)

    async def vacuum() -> list[str]:
        runtime = RequestRuntime(database, 10, cost_store=cost_store, cost_sources=sources)
        async with open_request(runtime, Member(admin.user_id, admin.tenant_slug), request_id="t") as ctx:
            return await vacuum_store(ctx)

    assert await vacuum() == [str(orphan)]
    assert await asyncio.to_thread((staging / "part-00000").is_dir)
    # Without the database's list, the same call would have taken the importing assembly's folder.
    assert store.vacuum(in_progress=()) == [str(staging)]
