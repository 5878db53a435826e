"""Horizontal serving: separate `roundpool serve` processes and separate `roundpool worker` processes on one
database and one cost store (tests/plugins/processes.py), reached over real HTTP on their own ports.

What one process guarantees must hold across many: racing closes make one invoice with gap-free numbers, an
assembly requested twice at once is imported once and published once whichever workers stage its parts, and
close-all runs invoice every customer once. Each test also proves that the work really was spread: every API
process counts its own requests in its /metrics, and the job rows name the worker that ran them.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from cost import CostStore
from cost.store import CATALOG_DIR, IMPORTS_DIR
from tests.plugins.billing import PERIOD, SeedCosts, set_up_billing
from tests.plugins.cost_files import LEGACY_HEADER, write_legacy_csv
from tests.plugins.costs import COSTS, as_totals, assign, legacy_manifest, legacy_rows, legacy_totals
from tests.plugins.graphql import GraphQL, token_for
from tests.plugins.processes import API_PROCESSES, METRICS_TOKEN, WORKER_PROCESSES, Horizontal, Started
from tests.plugins.world import Actor, World

RACERS = 20
CLOSE = """
mutation CloseRace($tenant: String!, $period: String!) {
  closeInvoice(tenantSlug: $tenant, period: $period) {
    __typename
    ... on Invoice { id number total }
    ... on InvoiceAlreadyClosed { invoice { id number } }
    ... on Problem { message }
  }
}"""


@pytest.fixture
def cost_store(horizontal: Horizontal) -> CostStore:
    """The processes' store: what the test seeds there, they read."""
    return CostStore(str(horizontal.store_root))


def test_the_processes_are_separate(horizontal: Horizontal) -> None:
    assert len({one.pid for one in [*horizontal.apis, *horizontal.workers]}) == API_PROCESSES + WORKER_PROCESSES
    assert len({api.url for api in horizontal.apis}) == API_PROCESSES


async def _post(
    client: httpx.AsyncClient, actor: Actor, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"authorization": f"Bearer {token_for(actor)}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


async def _served(api: Started, operation: str) -> float:
    """How many requests named `operation` this process answered, from its own /metrics."""
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
        response = await client.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.text
    pattern = rf'roundpool_graphql_requests_total\{{operation="{operation}",status="200"\}} (\S+)'
    found = re.search(pattern, response.text)
    return float(found.group(1)) if found else 0.0


def _one(owner_conn: psycopg.Connection, query: str, *args: Any) -> Any:
    row = owner_conn.execute(query, args).fetchone()
    assert row is not None
    return row[0]


async def test_racing_closes_over_two_api_processes_make_one_invoice_per_customer(
    cost_gql: GraphQL,
    world: World,
    seed_costs: SeedCosts,
    horizontal: Horizontal,
    owner_conn: psycopg.Connection,
) -> None:
    seeded = seed_costs()
    await set_up_billing(cost_gql, world)
    apis = horizontal.apis
    admin = world.actor("billing_admin")
    customers = ("startup", "other_startup")
    limits = httpx.Limits(max_connections=RACERS * len(customers))
    clients = [httpx.AsyncClient(base_url=api.url, timeout=60, limits=limits) for api in apis]
    try:
        racing = [
            _post(clients[i % len(clients)], admin, CLOSE, {"tenant": world.slugs[customer], "period": PERIOD})
            for i in range(RACERS)
            for customer in customers
        ]
        answers = [body["data"]["closeInvoice"] for body in await asyncio.gather(*racing)]
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))

    numbers = []
    for index, customer in enumerate(customers):
        mine = answers[index :: len(customers)]
        kinds = Counter(answer["__typename"] for answer in mine)
        assert kinds == {"Invoice": 1, "InvoiceAlreadyClosed": RACERS - 1}, mine
        (made,) = [answer for answer in mine if answer["__typename"] == "Invoice"]
        assert {answer["invoice"]["id"] for answer in mine if answer is not made} == {made["id"]}
        assert Decimal(made["total"]) == seeded.expected_total(customer)
        numbers.append(made["number"])
        tenant = world.tenants[customer]
        assert _one(owner_conn, "select count(*) from invoices where tenant_id = %s", tenant) == 1
        audited = "select count(*) from audit_events where tenant_id = %s and action = 'invoice.closed'"
        assert _one(owner_conn, audited, tenant) == 1
    operator = world.tenants["operator"]
    assert sorted(numbers) == [1, 2]  # gap-free: no racer consumed a number
    assert _one(owner_conn, "select next_number from invoice_counters where tenant_id = %s", operator) == 3
    assert _one(
        owner_conn, "select array_agg(number order by number) from invoices where operator_id = %s", operator
    ) == [1, 2]
    # Both processes answered their half: each counts only the requests it served.
    assert [await _served(api, "CloseRace") for api in apis] == [RACERS, RACERS]


ASSEMBLE = """
mutation ImportRace($manifest: String!) {
  importCostAssembly(manifest: $manifest) {
    __typename
    ... on CostAssembly { id status partsTotal parts { id } }
    ... on Problem { message }
  }
}"""
ASSEMBLY = "query($id: ID!) { costAssembly(id: $id) { status partsDone partsFailed rowsProcessed error { reason } } }"
PARTS = 6
ROWS_PER_PART = 1500


async def _until(check: Callable[[], Awaitable[Any]], what: str, seconds: float = 45.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


def _workers_of(owner_conn: psycopg.Connection, job_ids: list[int]) -> list[tuple[str, str, int, int | None]]:
    """(task, status, attempts, worker) of each job; read while the workers run (leaving clears `worker_id`)."""
    rows = owner_conn.execute(
        "select task_name, status, attempts, worker_id from procrastinate_jobs where id = any(%s) order by id",
        (job_ids,),
    ).fetchall()
    assert len(rows) == len(job_ids)
    return [(str(task), str(status), int(attempts), worker) for task, status, attempts, worker in rows]


async def test_an_assembly_requested_from_two_api_processes_is_imported_once_by_two_workers(
    cost_gql: GraphQL,
    world: World,
    cost_store: CostStore,
    horizontal: Horizontal,
    owner_conn: psycopg.Connection,
    tmp_path: Path,
) -> None:
    admin = world.actor("billing_admin")
    operator = world.tenants["operator"]
    accounts = [f"{uuid.uuid4().int % 10**12:012d}" for _ in range(4)]
    root = tmp_path / "bucket"
    folder = root / "cur" / "report" / "20231101-20231201" / "h1"
    folder.mkdir(parents=True)
    parts = [
        write_legacy_csv(folder / f"report-{i}.csv", legacy_rows(accounts, ROWS_PER_PART, i)) for i in range(PARTS)
    ]
    manifest = legacy_manifest(folder.parent, Path("/"), parts, LEGACY_HEADER, "h1")  # development: any path
    apis = horizontal.apis

    clients = [httpx.AsyncClient(base_url=api.url, timeout=60) for api in apis]
    try:
        racing = [_post(clients[i % 2], admin, ASSEMBLE, {"manifest": str(manifest)}) for i in range(4)]
        answers = [body["data"]["importCostAssembly"] for body in await asyncio.gather(*racing)]
        statuses = Counter(answer.get("status", answer["__typename"]) for answer in answers)
        assert statuses == {"QUEUED": 1, "DUPLICATE": 3}, answers
        (queued,) = [answer for answer in answers if answer["status"] == "QUEUED"]
        assert (queued["partsTotal"], len(queued["parts"])) == (PARTS, PARTS)
        assert all(answer["parts"] == [] for answer in answers if answer is not queued)

        async def finished() -> dict[str, Any] | None:
            found = (await _post(clients[0], admin, ASSEMBLY, {"id": queued["id"]}))["data"]["costAssembly"]
            return found if found["status"] not in ("QUEUED", "PUBLISHING") else None

        done = await _until(finished, "the workers to publish the assembly")
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    assert done == {
        "status": "SUCCEEDED",
        "partsDone": PARTS,
        "partsFailed": 0,
        "rowsProcessed": PARTS * ROWS_PER_PART,
        "error": None,
    }

    # One live assembly row; the racers that lost are recorded as duplicates and queued nothing.
    rows = owner_conn.execute(
        "select id, status, catalog_version, publish_job_id from cost_assemblies where tenant_id = %s", (operator,)
    ).fetchall()
    assert Counter(status for _, status, _, _ in rows) == {"succeeded": 1, "duplicate": 3}
    ((assembly_id, _, version, publish_job),) = [row for row in rows if row[1] == "succeeded"]
    part_jobs = [
        job
        for (job,) in owner_conn.execute(
            "select job_id from cost_imports where tenant_id = %s and assembly_id = %s and status = 'succeeded'",
            (operator, assembly_id),
        ).fetchall()
    ]
    assert len(part_jobs) == PARTS
    assert _one(owner_conn, "select count(*) from cost_imports where tenant_id = %s", operator) == PARTS
    jobs = _workers_of(owner_conn, [*part_jobs, publish_job])
    assert [(task, status, attempts) for task, status, attempts, _ in jobs] == [
        *[("import_cost_assembly_part", "succeeded", 1)] * PARTS,  # each part staged once
        ("publish_cost_assembly", "succeeded", 1),
    ]
    assert len({worker for *_, worker in jobs[:PARTS]}) == 2, jobs  # the parts ran on both workers
    publications = owner_conn.execute(
        "select count(*) from procrastinate_jobs where task_name = %s and args->>'assembly_id' = %s",
        ("publish_cost_assembly", str(assembly_id)),
    ).fetchone()
    assert publications == (1,)

    # The catalog: one version, which holds this assembly; the store holds this assembly's parts only.
    store = cost_store.for_operator(operator)
    catalog = store.catalog()
    assert (catalog["version"], version) == (1, 1)
    assert list(catalog["assemblies"].values()) == [str(assembly_id)]
    operator_root = horizontal.store_root / "operators" / str(operator)
    assert [p.name.split("-")[1] for p in (operator_root / CATALOG_DIR).glob("v-*.json")] == ["00000001"]
    staged = sorted((operator_root / IMPORTS_DIR).glob("*/part-*"))
    assert [(p.parent.name, p.name) for p in staged] == [(str(assembly_id), f"part-{i:05d}") for i in range(PARTS)]
    await assign(cost_gql, world, accounts)
    costs = await cost_gql(admin, COSTS, {"period": "2023-11", "company": world.slugs["startup"]})
    expected: dict[Any, Decimal] = defaultdict(Decimal)
    for part in parts:
        for key, value in legacy_totals(part).items():
            expected[key] += value
    assert as_totals(costs["data"]["costs"]) == expected  # exactly the parts' sum: each row once


CLOSE_ALL = (
    "mutation RunRace($period: String!) { closeInvoices(period: $period) { __typename ... on InvoiceRun { id } } }"
)


async def test_close_all_runs_requested_twice_per_operator_on_two_workers_invoice_each_customer_once(
    cost_gql: GraphQL,
    world: World,
    make_world: Callable[[], World],
    seed_costs: SeedCosts,
    horizontal: Horizontal,
    owner_conn: psycopg.Connection,
) -> None:
    worlds = [world, make_world()]
    seeded = [seed_costs(of=w) for w in worlds]
    for w in worlds:
        await set_up_billing(cost_gql, w)
    apis = horizontal.apis
    operators = [w.tenants["operator"] for w in worlds]
    # The test holds every customer's period lock (the one each close takes), so each worker (one job at a
    # time) stays inside the first run it takes: the second worker must take the other operator's run.
    customers = [w.tenants[name] for w in worlds for name in ("startup", "other_startup")]
    held = [f"invoice:{customer}:{PERIOD}" for customer in customers]
    for key in held:
        owner_conn.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (key,))
    clients = [httpx.AsyncClient(base_url=api.url, timeout=60) for api in apis]
    try:
        # Each operator's run requested from both API processes at once: two runs, two jobs per operator.
        racing = [
            _post(client, w.actor("billing_admin"), CLOSE_ALL, {"period": PERIOD}) for w in worlds for client in clients
        ]
        answers = [body["data"]["closeInvoices"] for body in await asyncio.gather(*racing)]

        async def both_blocked() -> list[Any]:
            doing = owner_conn.execute(
                "select j.worker_id from procrastinate_jobs j join invoice_runs r on r.job_id = j.id"
                " where r.tenant_id = any(%s) and j.status = 'doing'",
                (operators,),
            ).fetchall()
            return doing if len(doing) == len(operators) else []

        blocked = await _until(both_blocked, "a run of each operator to wait on its customers' locks")
        assert len({worker for (worker,) in blocked}) == 2, blocked  # one run per worker
    finally:
        owner_conn.execute("select pg_advisory_unlock_all()")
        await asyncio.gather(*(client.aclose() for client in clients))
    assert {answer["__typename"] for answer in answers} == {"InvoiceRun"}, answers

    async def finished() -> bool:
        pending = owner_conn.execute(
            "select count(*) from invoice_runs where tenant_id = any(%s) and status in ('queued', 'running')",
            (operators,),
        ).fetchone()
        return pending == (0,)

    await _until(finished, "the workers to finish every run")
    runs = owner_conn.execute(
        "select tenant_id, status, total, closed, already_closed, failed, job_id from invoice_runs"
        " where tenant_id = any(%s)",
        (operators,),
    ).fetchall()
    assert len(runs) == 4
    for operator in operators:
        mine = [run for run in runs if run[0] == operator]
        assert [run[1:3] for run in mine] == [("succeeded", 2)] * 2, mine
        # One run closed both invoices; the other, serialised behind it by the operator's lock, found them closed.
        assert sorted((run[3], run[4], run[5]) for run in mine) == [(0, 2, 0), (2, 0, 0)], mine
        numbers = "select array_agg(number order by number) from invoices where operator_id = %s"
        assert _one(owner_conn, numbers, operator) == [1, 2]
    for w, seeds in zip(worlds, seeded, strict=True):
        for customer in ("startup", "other_startup"):
            invoices = owner_conn.execute(
                "select total from invoices where tenant_id = %s", (w.tenants[customer],)
            ).fetchall()
            assert invoices == [(seeds.expected_total(customer),)]
    jobs = _workers_of(owner_conn, [run[6] for run in runs])
    assert {(task, status, attempts) for task, status, attempts, _ in jobs} == {("close_invoices", "succeeded", 1)}
    assert len({worker for *_, worker in jobs}) == 2, jobs  # both workers ran runs
    assert [await _served(api, "RunRace") for api in apis] == [2, 2]


IMPORT_FILE = """
mutation FileRace($path: String!) {
  importCostReport(path: $path) { __typename ... on CostImport { id status } ... on Problem { message } }
}"""


async def test_one_file_imported_four_times_at_once_from_two_api_processes_is_published_once(
    cost_gql: GraphQL,
    world: World,
    cost_store: CostStore,
    horizontal: Horizontal,
    owner_conn: psycopg.Connection,
    tmp_path: Path,
) -> None:
    admin = world.actor("billing_admin")
    operator = world.tenants["operator"]
    accounts = [f"{uuid.uuid4().int % 10**12:012d}" for _ in range(3)]
    path = write_legacy_csv(tmp_path / "cur.csv", legacy_rows(accounts, 3000, 7))
    clients = [httpx.AsyncClient(base_url=api.url, timeout=60) for api in horizontal.apis]
    try:
        racing = [_post(clients[i % 2], admin, IMPORT_FILE, {"path": str(path)}) for i in range(4)]
        answers = [body["data"]["importCostReport"] for body in await asyncio.gather(*racing)]
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    assert [answer["status"] for answer in answers] == ["QUEUED"] * 4, answers

    async def finished() -> bool:
        pending = owner_conn.execute(
            "select count(*) from cost_imports where tenant_id = %s and status in ('queued', 'running')", (operator,)
        ).fetchone()
        return pending == (0,)

    await _until(finished, "the workers to run every import")
    statuses = owner_conn.execute("select status from cost_imports where tenant_id = %s", (operator,)).fetchall()
    # Serialised by the operator's store lock: the first publishes, the others find its digest in the catalog.
    assert Counter(status for (status,) in statuses) == {"succeeded": 1, "duplicate": 3}
    catalog = cost_store.for_operator(operator).catalog()
    assert (len(catalog["imports"]), catalog["version"]) == (1, 1)
    await assign(cost_gql, world, accounts)
    costs = await cost_gql(admin, COSTS, {"period": "2023-11", "company": world.slugs["startup"]})
    assert as_totals(costs["data"]["costs"]) == legacy_totals(path)
    assert [await _served(api, "FileRace") for api in horizontal.apis] == [2, 2]
