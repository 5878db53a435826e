"""Assemblies through GraphQL as a billing admin: a manifest and its parts, imported part by part (the very
functions the worker's tasks call, or real in-process workers), published at once, replaced by newer
deliveries, refused precisely when incomplete or inconsistent."""

from __future__ import annotations

import asyncio
import csv
import json
import threading
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import strawberry

from cost import CostStore, import_file
from cost.locations import CostSources, LocalSource
from db.session import Database, DbContext
from resolvers.cost_assemblies import run_assembly_part, run_assembly_publication
from resolvers.jobs import create_job_app, run_queued_jobs
from schema.authentication import resolve_principal
from schema.execution import GraphQLRequest, execute
from schema.settings import Settings
from tests.cost.conftest import LEGACY_HEADER, listing, write_legacy_csv
from tests.plugins.costs import FOCUS_SAMPLE, LEGACY_SAMPLE, shared_file
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import GraphQL
from tests.plugins.world import Actor, World
from tests.schema.test_costs import COSTS, as_totals, assign, focus_totals, legacy_totals

IMPORT = """
mutation($manifest: String!, $late: LateData! = REJECT) {
  importCostAssembly(manifest: $manifest, lateData: $late) {
    __typename
    ... on CostAssembly { id status partsTotal parts { id status } }
    ... on InvalidInput { field message }
    ... on Problem { message }
  }
}"""
STATUS = """
query($id: ID!) {
  costAssembly(id: $id) {
    status kind report period assemblyId partsTotal partsDone partsFailed bytesProcessed bytesTotal rowsProcessed
    rehomed { sourcePeriod targetPeriod rows } error { file row column reason }
    parts { id status rowsProcessed error { file row column reason } }
  }
}"""


def _legacy_manifest(folder: Path, root: Path, parts: list[Path], columns: list[str], assembly: str,
                     report: str = "report", period: str = "20231101") -> Path:
    manifest = folder / f"{report}-Manifest.json"
    manifest.write_text(json.dumps({
        "assemblyId": assembly, "account": "999988887777",
        "columns": [{"category": c.split("/", 1)[0], "name": c.split("/", 1)[1], "type": "String"} for c in columns],
        "charset": "UTF-8", "compression": "GZIP", "contentType": "text/csv", "reportId": "r" * 8,
        "reportName": report, "billingPeriod": {"start": f"{period}T000000.000Z", "end": "20231201T000000.000Z"},
        "bucket": "billing", "reportKeys": [str(p.relative_to(root)) for p in parts],
    }))
    return manifest


def _data_exports_manifest(root: Path, export: str, period: str, parts: list[Path], columns: list[str],
                           execution: str) -> Path:
    folder = root / "exports" / export / "metadata" / f"BILLING_PERIOD={period}"
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / f"{export}-Manifest.json"
    manifest.write_text(json.dumps({
        "executionId": execution, "exportArn": f"arn:aws:bcm-data-exports:us-east-1:999988887777:export/{export}",
        "columns": [{"name": c, "type": "string"} for c in columns],
        "dataFiles": [f"s3://billing/{p.relative_to(root)}" for p in parts],
        "billingPeriod": {"start": f"{period}-01T00:00:00.000Z", "end": "2099-01-01T00:00:00.000Z"},
        "bucket": "billing",
    }))
    return manifest


def _split_csv(source: Path, folder: Path, stem: str, parts: int) -> list[Path]:
    """`source` cut into `parts` CSV files, each with the header (as AWS writes its parts)."""
    folder.mkdir(parents=True, exist_ok=True)
    with source.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    size = -(-len(rows) // parts)
    out = []
    for i in range(parts):
        path = folder / f"{stem}-{i + 1}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows[i * size:(i + 1) * size])
        out.append(path)
    return out


def _header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle))


def _rows(accounts: list[str], n: int, seed: int, period: str = "2023-11") -> list[dict[str, str]]:
    return [{"lineItem/UsageAccountId": accounts[(i + seed) % len(accounts)],
             "lineItem/UnblendedCost": f"{((i * 31 + seed) % 997) / 13:.6f}",
             "bill/BillingPeriodStartDate": f"{period}-01T00:00:00.000Z",
             "lineItem/UsageStartDate": f"{period}-02T00:00:00Z"} for i in range(n)]


def _accounts(n: int) -> list[str]:
    return [f"{uuid.uuid4().int % 10**12:012d}" for _ in range(n)]


async def _run(database: Database, store: CostStore, sources: CostSources, actor: Actor,
               assembly: dict[str, Any]) -> None:
    """Every part job, then the publication job, inline: what the worker's tasks call."""
    assert actor.user_id is not None and actor.tenant_id is not None
    context = DbContext(user_id=actor.user_id, tenant_id=actor.tenant_id)
    for part in assembly["parts"]:
        await run_assembly_part(database, store, UUID(part["id"]), context, interval=0.05, sources=sources)
    await run_assembly_publication(database, store, UUID(assembly["id"]), context)


def _gql(database: Database, schema: strawberry.Schema, settings: Settings, store: CostStore,
         sources: CostSources) -> GraphQL:
    async def run(actor: Actor, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        principal = await resolve_principal(database, actor.user_id, actor.tenant_slug)
        return await execute(schema, database, principal, GraphQLRequest(query=query, variables=variables),
                             request_id=uuid.uuid4().hex, max_page_size=settings.max_page_size, cost_store=store,
                             cost_sources=sources)

    return run


async def _import(gql: GraphQL, admin: Actor, manifest: Path, late: str | None = None) -> dict[str, Any]:
    variables = {"manifest": str(manifest)} | ({} if late is None else {"late": late})
    result = await gql(admin, IMPORT, variables)
    assert "errors" not in result, result
    return result["data"]["importCostAssembly"]


async def _status(gql: GraphQL, admin: Actor, assembly_id: str) -> dict[str, Any]:
    result = await gql(admin, STATUS, {"id": assembly_id})
    assert "errors" not in result, result
    return result["data"]["costAssembly"]


def _sum_totals(paths: Iterable[Path], totals: Callable[[Path], dict[Any, Decimal]]) -> dict[Any, Decimal]:
    out: dict[Any, Decimal] = {}
    for path in paths:
        for key, value in totals(path).items():
            out[key] = out.get(key, Decimal(0)) + value
    return out


async def test_a_legacy_cur_assembly_of_the_real_sample_in_three_parts_sums_its_parts(
    cost_gql: GraphQL, world: World, database: Database, cost_store: CostStore, settings: Settings,
    release_accounts: Callable[[Iterable[str]], None], tmp_path: Path,
) -> None:
    sample = shared_file(LEGACY_SAMPLE)
    folder = tmp_path / "billing" / "cur" / "report" / "20231101-20231201" / "a1"
    parts = _split_csv(sample, folder, "report", 3)
    manifest = _legacy_manifest(folder.parent, Path("/"), parts, _header(sample), "a1")
    expected = legacy_totals(sample)
    assert _sum_totals(parts, legacy_totals) == expected
    release_accounts({a for a, _, _ in expected})
    admin = world.actor("billing_admin")

    queued = await _import(cost_gql, admin, manifest)
    assert (queued["__typename"], queued["status"], queued["partsTotal"]) == ("CostAssembly", "QUEUED", 3), queued
    await _run(database, cost_store, settings.cost_import_sources, admin, queued)

    done = await _status(cost_gql, admin, queued["id"])
    assert done["status"] == "SUCCEEDED", done
    assert (done["kind"], done["report"], done["period"], done["assemblyId"]) == ("legacy-cur", "report", "2023-11",
                                                                                  "a1")
    assert (done["partsDone"], done["partsFailed"], done["rowsProcessed"]) == (3, 0, 1281)
    assert done["bytesProcessed"] == done["bytesTotal"] == sum(p.stat().st_size for p in parts)
    await assign(cost_gql, world, {a for a, _, _ in expected})
    costs = await cost_gql(admin, COSTS, {"period": "2023-11", "company": world.slugs["startup"]})
    assert as_totals(costs["data"]["costs"]) == expected

    # The same delivery again: recorded as a duplicate, nothing queued, nothing changed.
    catalog = cost_store.for_operator(admin.tenant_id).catalog()
    again = await _import(cost_gql, admin, manifest)
    assert again["status"] == "DUPLICATE" and again["parts"] == [], again
    assert cost_store.for_operator(admin.tenant_id).catalog() == catalog


async def test_a_focus_data_export_of_the_real_sample_in_parts_sums_its_parts(
    cost_gql: GraphQL, schema: strawberry.Schema, world: World, database: Database, cost_store: CostStore, settings: Settings,
    release_accounts: Callable[[Iterable[str]], None], tmp_path: Path,
) -> None:
    sample = shared_file(FOCUS_SAMPLE)
    root = tmp_path / "bucket"
    data = root / "exports" / "focus" / "data" / "BILLING_PERIOD=2024-09"
    parts = _split_csv(sample, data, "focus", 4)
    expected = focus_totals(sample)
    release_accounts({a for a, _, _ in expected})
    manifest = _data_exports_manifest(root, "focus", "2024-09", parts, _header(sample), "e1")
    sources = CostSources((LocalSource("bucket", str(root)),))
    gql = _gql(database, schema, settings, cost_store, sources)
    admin = world.actor("billing_admin")

    queued = await _import(gql, admin, manifest)
    assert queued["partsTotal"] == 4, queued
    await _run(database, cost_store, sources, admin, queued)
    done = await _status(gql, admin, queued["id"])
    assert (done["status"], done["kind"], done["report"], done["partsDone"]) == ("SUCCEEDED", "data-exports",
                                                                                 "focus", 4), done
    await assign(cost_gql, world, {a for a, _, _ in expected})
    costs = await cost_gql(admin, COSTS, {"from": "2024-01", "to": "2024-12", "company": world.slugs["startup"]})
    assert as_totals(costs["data"]["costs"]) == expected

