"""Cost fixtures: a fresh Parquet store per test, GraphQL with that store, the import job run inline; assemblies:
their documents, manifests and rows, and their jobs run inline.

Imports are background jobs; tests run a queued job synchronously through :func:`run_import`, the very
function the procrastinate task calls (one test in tests/resolvers/costs/test_cost_jobs.py runs a real worker).
"""

from __future__ import annotations

import csv
import json
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import strawberry

from cost import CostStore
from cost.locations import CostSources
from db.cost_records import CostImportRecord
from db.session import Database
from resolvers.common.principals import Member
from resolvers.costs.assembly_parts import run_assembly_part
from resolvers.costs.assembly_publication import run_assembly_publication
from resolvers.costs.imports import run_import
from schema.execution import GraphQLRequest, execute
from schema.settings import Settings
from tests.plugins.cost_files import LEGACY_HEADER, write_legacy_csv
from tests.plugins.graphql import GraphQL, row_id
from tests.plugins.world import Actor, World

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
LEGACY_SAMPLE = SHARED_DATA / "cur" / "legacy-cur-anonymized-sample.csv"
FOCUS_SAMPLE = SHARED_DATA / "focus" / "focus-1.0-sample.csv"

RunJob = Callable[[Actor, str], Awaitable[CostImportRecord]]


def shared_file(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"shared test data absent: {path}")
    return path


@pytest.fixture
def cost_store(tmp_path: Path) -> CostStore:
    return CostStore(str(tmp_path / "cost-store"))


@pytest.fixture
def cost_gql(database: Database, schema: strawberry.Schema, settings: Settings, cost_store: CostStore) -> GraphQL:
    async def run(actor: Actor, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return await execute(
            schema,
            database,
            None if actor.user_id is None else Member(actor.user_id, actor.tenant_slug),
            GraphQLRequest(query=query, variables=variables),
            request_id=uuid.uuid4().hex,
            max_page_size=settings.max_page_size,
            cost_store=cost_store,
            cost_sources=settings.cost_import_sources,
        )

    return run


@pytest.fixture
def run_job(database: Database, cost_store: CostStore, settings: Settings) -> RunJob:
    """Run the queued import `import_id` as its requester `actor`, inline (what the task does)."""

    async def run(actor: Actor, import_id: str) -> CostImportRecord:  # the id the API answered
        assert actor.user_id is not None
        assert actor.tenant_id is not None
        context = Member(actor.user_id, actor.tenant_id)
        return await run_import(
            database, cost_store, row_id(import_id), context, interval=0.05, sources=settings.cost_import_sources
        )

    return run


@pytest.fixture
def release_accounts(owner_conn: psycopg.Connection) -> Callable[[Iterable[str]], None]:
    """Free account ids that an earlier test's world holds (ids are unique across tenants)."""

    def release(account_ids: Iterable[str]) -> None:
        ids = list(account_ids)
        with owner_conn.transaction():
            owner_conn.execute("delete from cloud_accounts where account_id = any(%s)", (ids,))
            owner_conn.execute("delete from cloud_account_assignments where account_id = any(%s)", (ids,))

    return release


ASSEMBLY_IMPORT = """
mutation($manifest: String!, $late: LateData! = REJECT) {
  importCostAssembly(manifest: $manifest, lateData: $late) {
    __typename
    ... on CostAssembly { id status partsTotal parts { id status } }
    ... on InvalidInput { field message }
    ... on Problem { message }
  }
}"""
ASSEMBLY_STATUS = """
query($id: ID!) {
  costAssembly(id: $id) {
    status kind report period assemblyId partsTotal partsDone partsFailed bytesProcessed bytesTotal rowsProcessed
    rehomed { sourcePeriod targetPeriod rows } error { file row column reason }
    parts { id status rowsProcessed error { file row column reason } }
  }
}"""


def legacy_manifest(
    folder: Path,
    root: Path,
    parts: list[Path],
    columns: list[str],
    assembly: str,
    report: str = "report",
    period: str = "20231101",
) -> Path:
    manifest = folder / f"{report}-Manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "assemblyId": assembly,
                "account": "999988887777",
                "columns": [
                    {"category": c.split("/", 1)[0], "name": c.split("/", 1)[1], "type": "String"} for c in columns
                ],
                "charset": "UTF-8",
                "compression": "GZIP",
                "contentType": "text/csv",
                "reportId": "r" * 8,
                "reportName": report,
                "billingPeriod": {"start": f"{period}T000000.000Z", "end": "20231201T000000.000Z"},
                "bucket": "billing",
                "reportKeys": [str(p.relative_to(root)) for p in parts],
            }
        )
    )
    return manifest


def header_of(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle))


def legacy_rows(accounts: list[str], n: int, seed: int, period: str = "2023-11") -> list[dict[str, str]]:
    return [
        {
            "lineItem/UsageAccountId": accounts[(i + seed) % len(accounts)],
            "lineItem/UnblendedCost": f"{((i * 31 + seed) % 997) / 13:.6f}",
            "bill/BillingPeriodStartDate": f"{period}-01T00:00:00.000Z",
            "lineItem/UsageStartDate": f"{period}-02T00:00:00Z",
        }
        for i in range(n)
    ]


def new_accounts(n: int) -> list[str]:
    return [f"{uuid.uuid4().int % 10**12:012d}" for _ in range(n)]


async def run_assembly(
    database: Database, store: CostStore, sources: CostSources, actor: Actor, assembly: dict[str, Any]
) -> None:
    """Every part job, then the publication job, inline: what the worker's tasks call."""
    assert actor.user_id is not None
    assert actor.tenant_id is not None
    context = Member(actor.user_id, actor.tenant_id)
    for part in assembly["parts"]:
        await run_assembly_part(database, store, row_id(part["id"]), context, interval=0.05, sources=sources)
    await run_assembly_publication(database, store, row_id(assembly["id"]), context)


def assembly_gql(
    database: Database, schema: strawberry.Schema, settings: Settings, store: CostStore, sources: CostSources
) -> GraphQL:
    async def run(actor: Actor, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        assert actor.user_id is not None
        return await execute(
            schema,
            database,
            Member(actor.user_id, actor.tenant_slug),
            GraphQLRequest(query=query, variables=variables),
            request_id=uuid.uuid4().hex,
            max_page_size=settings.max_page_size,
            cost_store=store,
            cost_sources=sources,
        )

    return run


def sum_totals(paths: Iterable[Path], totals: Callable[[Path], dict[Any, Decimal]]) -> dict[Any, Decimal]:
    out: dict[Any, Decimal] = {}
    for path in paths:
        for key, value in totals(path).items():
            out[key] = out.get(key, Decimal(0)) + value
    return out


COST_IMPORT = """
mutation($path: String!) {
  importCostReport(path: $path) {
    __typename
    ... on CostImport { id status bytesTotal }
    ... on Problem { message }
  }
}"""
COST_IMPORT_STATUS = """
query($id: ID!) {
  costImport(id: $id) {
    status bytesProcessed bytesTotal rowsProcessed periods accounts format currency digest sha256
    error { file row column reason }
  }
}"""
ASSIGN = """
mutation($account: String!, $tenant: String!, $name: String) {
  assignCloudAccount(accountId: $account, tenantSlug: $tenant, name: $name) {
    __typename
    ... on CloudAccount { accountId name company { slug } }
    ... on Problem { message }
  }
}"""
COSTS = """
query($period: String, $from: String, $to: String, $company: String) {
  costs(period: $period, from: $from, to: $to, groupBy: [ACCOUNT, SERVICE], metrics: [BILLED], company: $company) {
    account service currency billed
  }
}"""


SIZES = {p: p.stat().st_size for p in (LEGACY_SAMPLE, FOCUS_SAMPLE) if p.is_file()}


def _sums(
    path: Path, account: str, service: Callable[[dict[str, str]], str | None], cost: str, currency: str
) -> dict[tuple[str, str | None, str], Decimal]:
    totals: dict[tuple[str, str | None, str], Decimal] = defaultdict(Decimal)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            totals[(row[account], service(row), row[currency])] += Decimal(row[cost] or "0")
    return dict(totals)


def legacy_totals(path: Path) -> dict[tuple[str, str | None, str], Decimal]:
    return _sums(
        path,
        "lineItem/UsageAccountId",
        lambda r: r.get("product/ProductName") or r.get("lineItem/ProductCode") or None,
        "lineItem/UnblendedCost",
        "lineItem/CurrencyCode",
    )


def focus_totals(path: Path) -> dict[tuple[str, str | None, str], Decimal]:
    return _sums(path, "SubAccountId", lambda r: r["ServiceName"] or None, "BilledCost", "BillingCurrency")


def as_totals(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str | None, str], Decimal]:
    return {(r["account"], r["service"], r["currency"]): Decimal(r["billed"]) for r in rows}


async def import_and_run(cost_gql: GraphQL, run_job: RunJob, world: World, path: Path) -> dict[str, Any]:
    admin = world.actor("billing_admin")
    queued = await cost_gql(admin, COST_IMPORT, {"path": str(path)})
    assert "errors" not in queued, queued
    job = queued["data"]["importCostReport"]
    assert job["__typename"] == "CostImport"
    assert job["status"] == "QUEUED"
    assert job["bytesTotal"] == SIZES[path]
    await run_job(admin, job["id"])
    status = await cost_gql(admin, COST_IMPORT_STATUS, {"id": job["id"]})
    return {"id": job["id"], **status["data"]["costImport"]}


async def assign(cost_gql: GraphQL, world: World, accounts: Iterable[str], tenant: str = "startup") -> None:
    for account in accounts:
        result = await cost_gql(
            world.actor("billing_admin"),
            ASSIGN,
            {"account": account, "tenant": world.slugs[tenant], "name": f"acct {account}"},
        )
        assert result["data"]["assignCloudAccount"]["__typename"] == "CloudAccount", result


REGISTER_SOURCE = """
mutation($location: String!, $format: ReportSourceFormat!, $late: LateData! = CORRECTIONS) {
  registerReportSource(location: $location, format: $format, lateData: $late) {
    __typename
    ... on ReportSource { id location format source lateData }
    ... on InvalidInput { field message }
    ... on Problem { message }
  }
}"""


def mirror(root: Path, report: str, key: str, rows: int = 20) -> Path:
    """A legacy CUR delivery as AWS writes it: `<report>/<range>/<key>/parts` and the period's manifest."""
    folder = root / "cur" / report / "20231101-20231201" / key
    folder.mkdir(parents=True, exist_ok=True)
    accounts = new_accounts(2)
    parts = [write_legacy_csv(folder / f"{report}-{i}.csv", legacy_rows(accounts, rows, i)) for i in (1, 2)]
    return legacy_manifest(folder.parent, root, parts, LEGACY_HEADER, key, report=report)
