"""Jobs survive the death of their worker: real `roundpool worker` processes, SIGKILLed mid-job.

A first worker (tests/resolvers/stalling_worker.py: the real command, made to pause at a known point) takes
the job and is killed with SIGKILL, so it leaves what a crash leaves: the job `doing`, its manifest or run
`running`, its worker row silent, an unpublished folder in the store. A second, ordinary worker started with a
short stall threshold must retry the job and finish it correctly, and nothing of the dead attempt may show.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cost import CostStore
from db.session import Database
from resolvers.jobs import create_job_app, live_workers, run_queued_jobs
from schema.settings import Settings
from tests.plugins.billing import SeedCosts, set_up_billing
from tests.plugins.cost_files import write_legacy_csv
from tests.plugins.costs import COST_IMPORT, COST_IMPORT_STATUS, COSTS, as_totals, assign, legacy_totals
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import JWT_SECRET, GraphQL, row_id
from tests.plugins.jobs import STALL_AFTER_S, WORKER, Start, kill, stalling, stop, until
from tests.plugins.world import World

CLOSE_ALL = 'mutation { closeInvoices(period: "2026-10") { __typename ... on InvoiceRun { id status } } }'
RUN = "query($id: ID!) { invoiceRun(id: $id) { status total closed alreadyClosed failed errors } }"
INVOICES = 'query { invoices(period: "2026-10") { edges { node { number total status company { slug } } } } }'


def _job(owner_conn: psycopg.Connection, table: str, global_id: str) -> tuple[Any, ...]:
    row = owner_conn.execute(
        f"select j.status, j.attempts, j.lock, t.status from {table} t join procrastinate_jobs j on j.id = t.job_id"
        " where t.id = %s",
        (row_id(global_id),),
    ).fetchone()
    assert row is not None
    return (str(row[0]), row[1], row[2], row[3])


def _cur(path: Path, accounts: list[str], rows: int) -> Path:
    return write_legacy_csv(
        path,
        [
            {"lineItem/UsageAccountId": accounts[i % len(accounts)], "lineItem/UnblendedCost": f"{(i % 97) / 7:.6f}"}
            for i in range(rows)
        ],
    )


async def test_an_import_killed_mid_file_is_retried_and_never_blocks_another_operator(
    cost_gql: GraphQL,
    world: World,
    make_world: Callable[[], World],
    database: Database,
    cost_store: CostStore,
    test_database: TestDatabase,
    settings: Settings,
    owner_conn: psycopg.Connection,
    start_worker: Start,
    tmp_path: Path,
) -> None:
    admin = world.actor("billing_admin")
    accounts = [f"{uuid.uuid4().int % 10**12:012d}" for _ in range(3)]
    path = _cur(tmp_path / "cur.csv", accounts, 600)
    queued = (await cost_gql(admin, COST_IMPORT, {"path": str(path)}))["data"]["importCostReport"]
    marker = tmp_path / "stalled"
    doomed = start_worker(*stalling("import", marker))
    staging = await until(lambda: marker.exists() and marker.read_text(), "the first worker to be mid-import")
    assert _job(owner_conn, "cost_imports", queued["id"])[::3] == ("doing", "running")
    kill(doomed)

    # The dead worker's job still holds its operator's lock; another operator's import runs regardless.
    other = make_world()
    other_admin = other.actor("billing_admin")
    other_path = _cur(tmp_path / "other.csv", [f"{uuid.uuid4().int % 10**12:012d}"], 5)
    other_queued = (await cost_gql(other_admin, COST_IMPORT, {"path": str(other_path)}))["data"]["importCostReport"]
    job_app = create_job_app(test_database.app_url, database, cost_store, sources=settings.cost_import_sources)
    async with job_app.open_async():
        await run_queued_jobs(job_app)
    other_status = (await cost_gql(other_admin, COST_IMPORT_STATUS, {"id": other_queued["id"]}))["data"]["costImport"]
    assert (other_status["status"], other_status["rowsProcessed"]) == ("SUCCEEDED", 5)
    assert _job(owner_conn, "cost_imports", queued["id"])[::3] == ("doing", "running")  # not recovered yet

    rescuer = start_worker(*WORKER)
    await until(
        lambda: _job(owner_conn, "cost_imports", queued["id"])[3] not in ("queued", "running"),
        "the second worker to finish the import",
    )
    stop(rescuer)

    assert _job(owner_conn, "cost_imports", queued["id"]) == (
        "succeeded",
        2,
        f"cost-store:{admin.tenant_id}",
        "succeeded",  # attempts: the dead one and the retry
    )
    status = (await cost_gql(admin, COST_IMPORT_STATUS, {"id": queued["id"]}))["data"]["costImport"]
    assert status["status"] == "SUCCEEDED", status
    assert status["rowsProcessed"] == 600
    assert sorted(status["accounts"]) == sorted(accounts)
    await assign(cost_gql, world, accounts)
    costs = await cost_gql(admin, COSTS, {"period": "2023-11", "company": world.slugs["startup"]})
    assert as_totals(costs["data"]["costs"]) == legacy_totals(path)  # every row once: nothing half-published
    # The dead attempt's folder was never published; vacuum removes it and only it.
    assert await asyncio.to_thread(Path(staging).is_dir)
    assert cost_store.for_operator(admin.tenant_id).vacuum(in_progress=()) == [staging]
    assert as_totals(
        (await cost_gql(admin, COSTS, {"period": "2023-11", "company": world.slugs["startup"]}))["data"]["costs"]
    ) == legacy_totals(path)
    # The rescuer unregistered; the killed worker's row stays until a worker starts after it went silent, but
    # it no longer counts as live (what `cost import --wait` asks before relying on a worker).
    assert await live_workers(database, STALL_AFTER_S) == 0


async def test_an_import_killed_past_its_retry_budget_ends_failed_with_the_reason(
    cost_gql: GraphQL,
    world: World,
    cost_store: CostStore,
    owner_conn: psycopg.Connection,
    start_worker: Start,
    tmp_path: Path,
) -> None:
    admin = world.actor("billing_admin")
    path = _cur(tmp_path / "cur.csv", [f"{uuid.uuid4().int % 10**12:012d}"], 50)
    queued = (await cost_gql(admin, COST_IMPORT, {"path": str(path)}))["data"]["importCostReport"]
    marker = tmp_path / "stalled"
    doomed = start_worker(*stalling("import", marker), max_retries=0)
    await until(marker.exists, "the first worker to be mid-import")
    kill(doomed)

    rescuer = start_worker(*WORKER, max_retries=0)
    await until(
        lambda: _job(owner_conn, "cost_imports", queued["id"])[3] != "running",
        "the second worker to give the import up",
    )
    stop(rescuer)

    status = (await cost_gql(admin, COST_IMPORT_STATUS, {"id": queued["id"]}))["data"]["costImport"]
    assert status["status"] == "FAILED"
    assert status["error"] == {
        "file": status["error"]["file"],
        "row": None,
        "column": None,
        "reason": "the worker stopped during the import; retried 0 times",
    }
    assert status["accounts"] == []
    assert cost_store.for_operator(admin.tenant_id).catalog()["imports"] == {}  # nothing was published


async def test_a_close_run_killed_between_invoices_resumes_without_duplicates(
    cost_gql: GraphQL,
    world: World,
    seed_costs: SeedCosts,
    owner_conn: psycopg.Connection,
    start_worker: Start,
    tmp_path: Path,
) -> None:
    seeded = seed_costs()
    await set_up_billing(cost_gql, world)
    admin = world.actor("billing_admin")
    run = (await cost_gql(admin, CLOSE_ALL))["data"]["closeInvoices"]
    assert run["status"] == "QUEUED"
    marker = tmp_path / "stalled"
    doomed = start_worker(*stalling("close", marker))
    await until(marker.exists, "the first worker to have closed one invoice")
    kill(doomed)
    halfway = (await cost_gql(admin, RUN, {"id": run["id"]}))["data"]["invoiceRun"]
    assert (halfway["status"], halfway["closed"]) == ("RUNNING", 1)
    operator = world.tenants["operator"]
    assert owner_conn.execute("select count(*) from invoices where operator_id = %s", (operator,)).fetchone() == (1,)

    rescuer = start_worker(*WORKER)
    await until(
        lambda: _job(owner_conn, "invoice_runs", run["id"])[3] != "running", "the second worker to finish the run"
    )
    stop(rescuer)

    assert _job(owner_conn, "invoice_runs", run["id"]) == ("succeeded", 2, f"close-invoices:{operator}", "succeeded")
    final = (await cost_gql(admin, RUN, {"id": run["id"]}))["data"]["invoiceRun"]
    assert final == {"status": "SUCCEEDED", "total": 2, "closed": 2, "alreadyClosed": 0, "failed": 0, "errors": []}
    listed = (await cost_gql(admin, INVOICES))["data"]["invoices"]["edges"]
    by_slug: dict[str, list[dict[str, Any]]] = {}
    for edge in listed:
        by_slug.setdefault(edge["node"]["company"]["slug"], []).append(edge["node"])
    assert sorted(by_slug) == sorted(world.slugs[t] for t in ("startup", "other_startup"))
    assert all(len(nodes) == 1 for nodes in by_slug.values())  # exactly one invoice per tenant and period
    assert sorted(n[0]["number"] for n in by_slug.values()) == [1, 2]  # gapless
    for tenant in ("startup", "other_startup"):
        assert Decimal(by_slug[world.slugs[tenant]][0]["total"]) == seeded.expected_total(tenant)
    assert owner_conn.execute("select count(*) from invoices where operator_id = %s", (operator,)).fetchone() == (2,)


async def test_each_operator_queues_under_its_own_locks(
    cost_gql: GraphQL,
    world: World,
    make_world: Callable[[], World],
    owner_conn: psycopg.Connection,
    tmp_path: Path,
) -> None:
    other = make_world()
    locks = {}
    for name, w in (("first", world), ("second", other)):
        admin = w.actor("billing_admin")
        path = _cur(tmp_path / f"{name}.csv", [f"{uuid.uuid4().int % 10**12:012d}"], 2)
        queued = (await cost_gql(admin, COST_IMPORT, {"path": str(path)}))["data"]["importCostReport"]
        run = (await cost_gql(admin, CLOSE_ALL))["data"]["closeInvoices"]
        locks[name] = (
            _job(owner_conn, "cost_imports", queued["id"])[2],
            _job(owner_conn, "invoice_runs", run["id"])[2],
        )
        assert locks[name] == (f"cost-store:{admin.tenant_id}", f"close-invoices:{admin.tenant_id}")
    assert not set(locks["first"]) & set(locks["second"])
    owner_conn.execute("update procrastinate_jobs set status = 'cancelled' where status = 'todo'")


async def test_cost_import_wait_resumes_a_dead_workers_import_that_holds_the_operators_lock(
    cost_gql: GraphQL,
    world: World,
    owner_conn: psycopg.Connection,
    start_worker: Start,
    tmp_path: Path,
    test_database: TestDatabase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    admin = world.actor("billing_admin")
    first = _cur(tmp_path / "first.csv", [f"{uuid.uuid4().int % 10**12:012d}"], 20)
    stuck = (await cost_gql(admin, COST_IMPORT, {"path": str(first)}))["data"]["importCostReport"]
    marker = tmp_path / "stalled"
    doomed = start_worker(*stalling("import", marker))
    await until(marker.exists, "the first worker to be mid-import")
    kill(doomed)
    await asyncio.sleep(STALL_AFTER_S + 0.5)  # its heartbeat is now older than the stall threshold

    cli_env = {
        "DATABASE_URL": test_database.app_url,
        "MIGRATION_DATABASE_URL": test_database.owner_url,
        "ROUNDPOOL_JWT_SECRET": JWT_SECRET,
        "ROUNDPOOL_COST_STORE": str(tmp_path / "cost-store"),
        "ROUNDPOOL_JOB_HEARTBEAT_S": "0.5",
        "ROUNDPOOL_JOB_STALLED_AFTER_S": str(STALL_AFTER_S),
        "ROUNDPOOL_STORE_VACUUM_INTERVAL_S": "0",
    }
    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    second = _cur(tmp_path / "second.csv", [f"{uuid.uuid4().int % 10**12:012d}"], 7)
    args = ["cost", "import", str(second), "--user", admin.email or "", "--tenant", admin.tenant_slug or ""]
    result = await asyncio.to_thread(CliRunner().invoke, app, [*args, "--wait", "--json"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert "no worker is running" in result.output
    summary = json.loads(result.stdout)
    assert (summary["status"], summary["rows"]) == ("succeeded", 7)
    assert _job(owner_conn, "cost_imports", stuck["id"])[::3] == ("succeeded", "succeeded")
    status = (await cost_gql(admin, COST_IMPORT_STATUS, {"id": stuck["id"]}))["data"]["costImport"]
    assert (status["status"], status["rowsProcessed"]) == ("SUCCEEDED", 20)
