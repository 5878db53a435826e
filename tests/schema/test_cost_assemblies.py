"""Assemblies through GraphQL as a billing admin: a manifest and its parts, imported part by part (the very
functions the worker's tasks call, or real in-process workers), published at once, replaced by newer
deliveries, refused precisely when incomplete or inconsistent."""

from __future__ import annotations

import asyncio
import csv
import json
import threading
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import strawberry

from cost import CostStore
from cost.locations import CostSources, LocalSource
from db.session import Database
from resolvers.jobs import create_job_app, run_queued_jobs
from schema.settings import Settings
from tests.plugins.cost_files import LEGACY_HEADER, listing, write_legacy_csv
from tests.plugins.costs import (
    ASSEMBLY_IMPORT,
    ASSEMBLY_STATUS,
    COSTS,
    FOCUS_SAMPLE,
    LEGACY_SAMPLE,
    as_totals,
    assembly_gql,
    assign,
    focus_totals,
    header_of,
    legacy_manifest,
    legacy_rows,
    legacy_totals,
    new_accounts,
    run_assembly,
    shared_file,
    sum_totals,
)
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import GraphQL
from tests.plugins.world import Actor, World


def _data_exports_manifest(
    root: Path, export: str, period: str, parts: list[Path], columns: list[str], execution: str
) -> Path:
    folder = root / "exports" / export / "metadata" / f"BILLING_PERIOD={period}"
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / f"{export}-Manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "executionId": execution,
                "exportArn": f"arn:aws:bcm-data-exports:us-east-1:999988887777:export/{export}",
                "columns": [{"name": c, "type": "string"} for c in columns],
                "dataFiles": [f"s3://billing/{p.relative_to(root)}" for p in parts],
                "billingPeriod": {"start": f"{period}-01T00:00:00.000Z", "end": "2099-01-01T00:00:00.000Z"},
                "bucket": "billing",
            }
        )
    )
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
            writer.writerows(rows[i * size : (i + 1) * size])
        out.append(path)
    return out


async def _import(gql: GraphQL, admin: Actor, manifest: Path, late: str | None = None) -> dict[str, Any]:
    variables = {"manifest": str(manifest)} | ({} if late is None else {"late": late})
    result = await gql(admin, ASSEMBLY_IMPORT, variables)
    assert "errors" not in result, result
    return result["data"]["importCostAssembly"]


async def _status(gql: GraphQL, admin: Actor, assembly_id: str) -> dict[str, Any]:
    result = await gql(admin, ASSEMBLY_STATUS, {"id": assembly_id})
    assert "errors" not in result, result
    return result["data"]["costAssembly"]


async def test_a_legacy_cur_assembly_of_the_real_sample_in_three_parts_sums_its_parts(
    cost_gql: GraphQL,
    world: World,
    database: Database,
    cost_store: CostStore,
    settings: Settings,
    release_accounts: Callable[[Iterable[str]], None],
    tmp_path: Path,
) -> None:
    sample = shared_file(LEGACY_SAMPLE)
    folder = tmp_path / "billing" / "cur" / "report" / "20231101-20231201" / "a1"
    parts = _split_csv(sample, folder, "report", 3)
    manifest = legacy_manifest(folder.parent, Path("/"), parts, header_of(sample), "a1")
    expected = legacy_totals(sample)
    assert sum_totals(parts, legacy_totals) == expected
    release_accounts({a for a, _, _ in expected})
    admin = world.actor("billing_admin")

    queued = await _import(cost_gql, admin, manifest)
    assert (queued["__typename"], queued["status"], queued["partsTotal"]) == ("CostAssembly", "QUEUED", 3), queued
    await run_assembly(database, cost_store, settings.cost_import_sources, admin, queued)

    done = await _status(cost_gql, admin, queued["id"])
    assert done["status"] == "SUCCEEDED", done
    assert (done["kind"], done["report"], done["period"], done["assemblyId"]) == (
        "legacy-cur",
        "report",
        "2023-11",
        "a1",
    )
    assert (done["partsDone"], done["partsFailed"], done["rowsProcessed"]) == (3, 0, 1281)
    assert done["bytesProcessed"] == done["bytesTotal"] == sum(p.stat().st_size for p in parts)
    await assign(cost_gql, world, {a for a, _, _ in expected})
    costs = await cost_gql(admin, COSTS, {"period": "2023-11", "company": world.slugs["startup"]})
    assert as_totals(costs["data"]["costs"]) == expected

    # The same delivery again: recorded as a duplicate, nothing queued, nothing changed.
    catalog = cost_store.for_operator(admin.tenant_id).catalog()
    again = await _import(cost_gql, admin, manifest)
    assert again["status"] == "DUPLICATE", again
    assert again["parts"] == []
    assert cost_store.for_operator(admin.tenant_id).catalog() == catalog


async def test_a_focus_data_export_of_the_real_sample_in_parts_sums_its_parts(
    cost_gql: GraphQL,
    schema: strawberry.Schema,
    world: World,
    database: Database,
    cost_store: CostStore,
    settings: Settings,
    release_accounts: Callable[[Iterable[str]], None],
    tmp_path: Path,
) -> None:
    sample = shared_file(FOCUS_SAMPLE)
    root = tmp_path / "bucket"
    data = root / "exports" / "focus" / "data" / "BILLING_PERIOD=2024-09"
    parts = _split_csv(sample, data, "focus", 4)
    expected = focus_totals(sample)
    release_accounts({a for a, _, _ in expected})
    manifest = _data_exports_manifest(root, "focus", "2024-09", parts, header_of(sample), "e1")
    sources = CostSources((LocalSource("bucket", str(root)),))
    gql = assembly_gql(database, schema, settings, cost_store, sources)
    admin = world.actor("billing_admin")

    queued = await _import(gql, admin, manifest)
    assert queued["partsTotal"] == 4, queued
    await run_assembly(database, cost_store, sources, admin, queued)
    done = await _status(gql, admin, queued["id"])
    assert (done["status"], done["kind"], done["report"], done["partsDone"]) == (
        "SUCCEEDED",
        "data-exports",
        "focus",
        4,
    ), done
    await assign(cost_gql, world, {a for a, _, _ in expected})
    costs = await cost_gql(admin, COSTS, {"from": "2024-01", "to": "2024-12", "company": world.slugs["startup"]})
    assert as_totals(costs["data"]["costs"]) == expected


def _store_state(store: CostStore, root: Path) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    return store.catalog(), listing(root)


async def test_a_missing_part_a_column_mismatch_and_a_part_outside_the_source_publish_nothing(
    cost_gql: GraphQL,
    schema: strawberry.Schema,
    world: World,
    database: Database,
    cost_store: CostStore,
    settings: Settings,
    owner_conn: psycopg.Connection,
    tmp_path: Path,
) -> None:
    admin = world.actor("billing_admin")
    assert admin.tenant_id is not None
    accounts = new_accounts(2)
    root, elsewhere = tmp_path / "bucket", tmp_path / "other"
    folder = root / "cur" / "report" / "20231101-20231201" / "a1"
    folder.mkdir(parents=True)
    elsewhere.mkdir()
    sources = CostSources((LocalSource("bucket", str(root)), LocalSource("other", str(elsewhere))))
    gql = assembly_gql(database, schema, settings, cost_store, sources)
    parts = [write_legacy_csv(folder / f"report-{i}.csv", legacy_rows(accounts, 20, i)) for i in (1, 2)]
    store = cost_store.for_operator(admin.tenant_id)
    before = _store_state(store, tmp_path / "cost-store")
    count = owner_conn.execute(
        "select count(*) from cost_assemblies where tenant_id = %s", (admin.tenant_id,)
    ).fetchone()

    # A listed part that is not there: refused at the request, naming manifest and part; nothing queued.
    missing = legacy_manifest(folder.parent, root, [*parts, folder / "report-3.csv"], LEGACY_HEADER, "a1")
    refused = await _import(gql, admin, missing)
    assert (refused["__typename"], refused["field"]) == ("InvalidInput", "manifest"), refused
    assert str(missing) in refused["message"]
    assert "part 3 of 3" in refused["message"]
    assert "cur/report/20231101-20231201/a1/report-3.csv" in refused["message"]

    # A data file beside the parts that the manifest does not list.
    unlisted = legacy_manifest(folder.parent, root, parts[:1], LEGACY_HEADER, "a1")
    refused = await _import(gql, admin, unlisted)
    assert refused["__typename"] == "InvalidInput", refused
    assert "report-2.csv" in refused["message"]

    # A part in another configured source: refused without quoting it.
    outside = write_legacy_csv(elsewhere / "report-9.csv", legacy_rows(accounts, 5, 9))
    manifest = legacy_manifest(folder.parent, root, parts, LEGACY_HEADER, "a1")
    document = json.loads(manifest.read_text())
    document["reportKeys"].append(str(outside))
    manifest.write_text(json.dumps(document))
    refused = await _import(gql, admin, manifest)
    assert refused["__typename"] == "InvalidInput", refused
    assert "outside the manifest's cost source 'bucket'" in refused["message"], refused
    assert str(outside) not in refused["message"]
    assert (
        owner_conn.execute("select count(*) from cost_assemblies where tenant_id = %s", (admin.tenant_id,)).fetchone()
        == count
    )

    # Columns that differ from the manifest's: the part fails with file, row 0 and column; nothing published.
    header = [c for c in LEGACY_HEADER if c != "resourceTags/aws:createdBy"]
    parts[1].unlink()
    parts[1] = write_legacy_csv(folder / "report-2.csv", legacy_rows(accounts, 20, 2), header)
    manifest = legacy_manifest(folder.parent, root, parts, LEGACY_HEADER, "a1")
    queued = await _import(gql, admin, manifest)
    assert queued["status"] == "QUEUED", queued
    await run_assembly(database, cost_store, sources, admin, queued)
    failed = await _status(gql, admin, queued["id"])
    assert (failed["status"], failed["partsDone"], failed["partsFailed"]) == ("FAILED", 1, 1), failed
    assert failed["error"]["file"] == str(parts[1])
    assert (failed["error"]["row"], failed["error"]["column"]) == (0, "resourceTags/aws:createdBy")
    assert str(manifest) in failed["error"]["reason"]
    assert "part 2 of 2" in failed["error"]["reason"]
    assert store.catalog() == before[0]


async def test_a_newer_cur2_assembly_replaces_the_older_while_a_reader_sees_old_or_new_totals_only(
    cost_gql: GraphQL,
    schema: strawberry.Schema,
    world: World,
    database: Database,
    cost_store: CostStore,
    settings: Settings,
    tmp_path: Path,
) -> None:
    admin = world.actor("billing_admin")
    assert admin.tenant_id is not None
    accounts = new_accounts(3)
    root = tmp_path / "bucket"
    sources = CostSources((LocalSource("bucket", str(root)),))
    gql = assembly_gql(database, schema, settings, cost_store, sources)
    columns = [
        "bill_billing_period_start_date",
        "bill_payer_account_id",
        "line_item_usage_account_id",
        "line_item_line_item_type",
        "line_item_unblended_cost",
        "line_item_currency_code",
        "line_item_product_code",
        "product",
        "resource_tags",
    ]

    def delivery(execution: str, parts: int, rows: int, seed: int) -> tuple[Path, Decimal]:
        data = root / "exports" / "cur2" / "data" / "BILLING_PERIOD=2023-11"
        if data.exists():
            for old in data.iterdir():
                old.unlink()  # overwrite mode: the export's folder holds the current delivery only
        data.mkdir(parents=True, exist_ok=True)
        total, paths = Decimal(0), []
        for p in range(parts):
            costs = [Decimal((i * 7 + seed + p) % 101) / 8 for i in range(rows)]
            total += sum(costs)
            table = pa.table(
                {
                    "bill_billing_period_start_date": pa.array([None] * rows, pa.timestamp("ms")).fill_null(
                        pa.scalar(1698796800000, pa.timestamp("ms"))
                    ),
                    "bill_payer_account_id": ["999988887777"] * rows,
                    "line_item_usage_account_id": [accounts[i % 3] for i in range(rows)],
                    "line_item_line_item_type": ["Usage"] * rows,
                    "line_item_unblended_cost": pa.array(costs, pa.decimal128(20, 6)),
                    "line_item_currency_code": ["USD"] * rows,
                    "line_item_product_code": ["AmazonS3"] * rows,
                    "product": pa.array([[("product_name", "Amazon S3")]] * rows, pa.map_(pa.string(), pa.string())),
                    "resource_tags": pa.array([[("user_team", "data")]] * rows, pa.map_(pa.string(), pa.string())),
                }
            )
            path = data / f"cur2-{p + 1:05d}.snappy.parquet"
            pq.write_table(table, path, compression="snappy")
            paths.append(path)
        return _data_exports_manifest(root, "cur2", "2023-11", paths, columns, execution), total

    first, first_total = delivery("e1", 2, 300, 1)
    queued = await _import(gql, admin, first)
    await run_assembly(database, cost_store, sources, admin, queued)
    assert (await _status(gql, admin, queued["id"]))["status"] == "SUCCEEDED"
    await assign(cost_gql, world, accounts)

    async def total() -> Decimal:
        result = await cost_gql(admin, COSTS, {"period": "2023-11", "company": world.slugs["startup"]})
        return sum((Decimal(r["billed"]) for r in result["data"]["costs"]), Decimal(0))

    assert await total() == first_total
    second, second_total = delivery("e2", 3, 250, 5)
    assert second_total != first_total
    queued = await _import(gql, admin, second)
    seen: set[Decimal] = set()
    stop = asyncio.Event()

    async def reader() -> None:
        while not stop.is_set():
            seen.add(await total())
            await asyncio.sleep(0)

    watching = asyncio.create_task(reader())
    await run_assembly(database, cost_store, sources, admin, queued)
    await asyncio.sleep(0.05)
    stop.set()
    await watching
    assert (await _status(gql, admin, queued["id"]))["status"] == "SUCCEEDED"
    assert await total() == second_total
    assert seen <= {first_total, second_total}, seen
    assert second_total in seen


async def test_two_in_process_workers_share_one_assembly(
    cost_gql: GraphQL,
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
    admin = world.actor("billing_admin")
    accounts = new_accounts(4)
    root = tmp_path / "bucket"
    folder = root / "cur" / "report" / "20231101-20231201" / "a7"
    folder.mkdir(parents=True)
    sources = CostSources((LocalSource("bucket", str(root)),))
    gql = assembly_gql(database, schema, settings, cost_store, sources)
    parts = [write_legacy_csv(folder / f"report-{i}.csv", legacy_rows(accounts, 400, i)) for i in range(1, 7)]
    manifest = legacy_manifest(folder.parent, root, parts, LEGACY_HEADER, "a7")
    queued = await _import(gql, admin, manifest)
    from cost import assemblies

    original = assemblies.stage
    # The first two parts to stage wait for each other (in the job's thread, so the event loop runs on): a
    # worker runs one job at a time (procrastinate's concurrency is 1), so they meet only when both workers
    # took a part. One worker taking every part breaks the barrier, and the part fails, on any host.
    both_staging = threading.Barrier(2, timeout=30)
    staged_first: list[int] = []
    order = threading.Lock()

    def watched(*args: Any, **kwargs: Any) -> Any:
        with order:
            meets = len(staged_first) < 2
            staged_first.append(threading.get_ident())
        if meets:
            both_staging.wait()
        return original(*args, **kwargs)

    assemblies.stage = watched  # type: ignore[assignment]
    try:
        apps = [create_job_app(test_database.app_url, database, cost_store, sources=sources) for _ in range(2)]
        async with apps[0].open_async(), apps[1].open_async():
            await asyncio.gather(*(run_queued_jobs(a) for a in apps))
            await run_queued_jobs(apps[0])  # the publication, if the last part finished after the other looked
    finally:
        assemblies.stage = original  # type: ignore[assignment]
    done = await _status(gql, admin, queued["id"])
    assert (done["status"], done["partsDone"], done["rowsProcessed"]) == ("SUCCEEDED", 6, 2400), done
    assert not both_staging.broken  # two parts staged at once: one on each worker
    assert len(staged_first) == 6
    await assign(cost_gql, world, accounts)
    costs = await cost_gql(admin, COSTS, {"period": "2023-11", "company": world.slugs["startup"]})
    assert as_totals(costs["data"]["costs"]) == sum_totals(parts, legacy_totals)


async def test_a_reissued_closed_month_rehomes_only_the_difference(
    cost_gql: GraphQL,
    schema: strawberry.Schema,
    world: World,
    database: Database,
    cost_store: CostStore,
    settings: Settings,
    owner_conn: psycopg.Connection,
    tmp_path: Path,
) -> None:
    admin = world.actor("billing_admin")
    assert admin.tenant_id is not None
    accounts = new_accounts(2)
    root = tmp_path / "bucket"
    sources = CostSources((LocalSource("bucket", str(root)),))
    gql = assembly_gql(database, schema, settings, cost_store, sources)
    rows = legacy_rows(accounts, 30, 3)

    def delivery(key: str, data: list[dict[str, str]]) -> Path:
        folder = root / "cur" / "report" / "20231101-20231201" / key
        folder.mkdir(parents=True)
        half = len(data) // 2
        parts = [
            write_legacy_csv(folder / "report-1.csv", data[:half]),
            write_legacy_csv(folder / "report-2.csv", data[half:]),
        ]
        return legacy_manifest(folder, root, parts, LEGACY_HEADER, key)

    queued = await _import(gql, admin, delivery("a1", rows))
    await run_assembly(database, cost_store, sources, admin, queued)
    assert (await _status(gql, admin, queued["id"]))["status"] == "SUCCEEDED"
    owner_conn.execute(
        "insert into cost_period_locks (tenant_id, period, reason) values (%s, '2023-11', 'closed')", (admin.tenant_id,)
    )
    await assign(cost_gql, world, accounts)
    store = cost_store.for_operator(admin.tenant_id)

    reissued = [dict(r) for r in rows]
    reissued[0]["lineItem/UnblendedCost"] = str(Decimal(rows[0]["lineItem/UnblendedCost"]) + Decimal("2.5"))
    reissued.append({**rows[1], "lineItem/UnblendedCost": "4.000000"})
    manifest = delivery("a2", reissued)
    catalog = store.catalog()
    queued = await _import(gql, admin, manifest)  # REJECT by default: the closed month is refused
    await run_assembly(database, cost_store, sources, admin, queued)
    refused = await _status(gql, admin, queued["id"])
    assert refused["status"] == "FAILED", refused
    assert "2023-11" in refused["error"]["reason"]
    assert store.catalog() == catalog

    queued = await _import(gql, admin, manifest.parent / manifest.name, "CORRECTIONS")
    await run_assembly(database, cost_store, sources, admin, queued)
    done = await _status(gql, admin, queued["id"])
    assert done["status"] == "SUCCEEDED", done
    assert done["rehomed"] == [{"sourcePeriod": "2023-11", "targetPeriod": "2023-12", "rows": 2}]
    november = await cost_gql(admin, COSTS, {"period": "2023-11", "company": world.slugs["startup"]})
    december = await cost_gql(admin, COSTS, {"period": "2023-12", "company": world.slugs["startup"]})
    assert sum(Decimal(r["billed"]) for r in november["data"]["costs"]) == sum(
        Decimal(r["lineItem/UnblendedCost"]) for r in rows
    )
    assert sum(Decimal(r["billed"]) for r in december["data"]["costs"]) == Decimal("6.5")

    # The same reissue once more, or a third identical to it: nothing more is re-homed.
    again = legacy_manifest(manifest.parent, root, sorted(manifest.parent.glob("report-*.csv")), LEGACY_HEADER, "a3")
    queued = await _import(gql, admin, again, "CORRECTIONS")
    await run_assembly(database, cost_store, sources, admin, queued)
    third = await _status(gql, admin, queued["id"])
    assert third["status"] == "SUCCEEDED", third
    assert third["rehomed"] == [{"sourcePeriod": "2023-11", "targetPeriod": "2023-12", "rows": 0}], third
    december = await cost_gql(admin, COSTS, {"period": "2023-12", "company": world.slugs["startup"]})
    assert sum(Decimal(r["billed"]) for r in december["data"]["costs"]) == Decimal("6.5")
