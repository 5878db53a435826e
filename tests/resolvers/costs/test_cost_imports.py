"""The import job on bad input: the manifest says failed, with file/row/column/reason, and nothing is
published (the store's files are exactly as before); a re-import of the same file is a duplicate no-op."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from cost import CostStore
from resolvers.costs.imports import JobRefused
from tests.plugins.cost_files import write_legacy_csv
from tests.plugins.costs import COST_IMPORT, COST_IMPORT_STATUS, RunJob
from tests.plugins.graphql import GraphQL, row_id
from tests.plugins.world import World

Account = str


def store_listing(store: CostStore) -> list[str]:
    root = Path(store.root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


async def queue_and_run(cost_gql: GraphQL, run_job: RunJob, world: World, path: Path) -> dict:
    admin = world.actor("billing_admin")
    queued = await cost_gql(admin, COST_IMPORT, {"path": str(path)})
    job = queued["data"]["importCostReport"]
    assert job["__typename"] == "CostImport", queued
    await run_job(admin, job["id"])
    return (await cost_gql(admin, COST_IMPORT_STATUS, {"id": job["id"]}))["data"]["costImport"]


def _good(tmp_path: Path, account: Account, name: str = "good.csv") -> Path:
    return write_legacy_csv(tmp_path / name, [{"lineItem/UsageAccountId": account}] * 3)


def _truncated_gzip(tmp_path: Path, account: Account) -> Path:
    plain = write_legacy_csv(
        tmp_path / "big.csv",
        [
            {"lineItem/UsageAccountId": account, "lineItem/UnblendedCost": f"{i * 7919 % 100003}.{i}"}
            for i in range(40_000)
        ],
    )
    data = gzip.compress(plain.read_bytes())
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(data[: int(len(data) * 0.7)])
    return broken


def _unknown_header(tmp_path: Path, account: Account) -> Path:
    path = tmp_path / "other.csv"
    path.write_text("date,amount\n2023-11-01,3\n")
    return path


def _non_numeric(tmp_path: Path, account: Account) -> Path:
    rows = [{"lineItem/UsageAccountId": account}] * 2 + [
        {"lineItem/UsageAccountId": account, "lineItem/UnblendedCost": "12,5 USD"}
    ]
    return write_legacy_csv(tmp_path / "nan.csv", rows)


def _mixed_currencies(tmp_path: Path, account: Account) -> Path:
    rows = [{"lineItem/UsageAccountId": account}] * 2 + [
        {"lineItem/UsageAccountId": account, "lineItem/CurrencyCode": "EUR"}
    ]
    return write_legacy_csv(tmp_path / "mixed.csv", rows)


def _empty(tmp_path: Path, account: Account) -> Path:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    return path


def _header_only(tmp_path: Path, account: Account) -> Path:
    return write_legacy_csv(tmp_path / "header.csv", [])


BAD_FILES: dict[str, tuple[Callable[[Path, Account], Path], int | None, str | None, str]] = {
    "truncated gzip": (_truncated_gzip, None, None, "truncated or corrupt"),
    "unknown header": (_unknown_header, None, None, "not a recognised billing file"),
    "non-numeric cost": (_non_numeric, 3, "lineItem/UnblendedCost", ""),
    "mixed currencies": (_mixed_currencies, 3, "lineItem/CurrencyCode", "EUR"),
    "empty file": (_empty, None, None, "0 bytes"),
    "header only": (_header_only, None, None, "no data rows"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
async def test_bad_input_fails_the_import_and_publishes_nothing(
    case: str, cost_gql: GraphQL, run_job: RunJob, world: World, cost_store: CostStore, tmp_path: Path
) -> None:
    make, row, column, reason = BAD_FILES[case]
    account = uuid.uuid4().hex[:12]
    baseline = await queue_and_run(cost_gql, run_job, world, _good(tmp_path, uuid.uuid4().hex[:12]))
    assert baseline["status"] == "SUCCEEDED"
    before = store_listing(cost_store)
    path = make(tmp_path, account)

    job = await queue_and_run(cost_gql, run_job, world, path)

    assert job["status"] == "FAILED", job
    error = job["error"]
    assert error["file"] == str(path)
    if row is not None:
        assert error["row"] == row
    assert error["column"] == column
    assert reason in error["reason"]
    assert error["reason"]
    assert job["periods"] == []
    assert job["accounts"] == []
    assert store_listing(cost_store) == before


async def test_locked_period_fails_and_publishes_nothing(
    cost_gql: GraphQL,
    run_job: RunJob,
    world: World,
    cost_store: CostStore,
    owner_conn: psycopg.Connection,
    tmp_path: Path,
) -> None:
    owner_conn.execute(
        "insert into cost_period_locks (tenant_id, period, reason) values (%s, '2023-11', 'invoice closed')",
        (world.tenants["operator"],),
    )
    before = store_listing(cost_store)

    job = await queue_and_run(cost_gql, run_job, world, _good(tmp_path, uuid.uuid4().hex[:12]))

    assert job["status"] == "FAILED"
    assert "2023-11 is locked" in job["error"]["reason"]
    assert job["error"]["row"] is None
    assert store_listing(cost_store) == before


async def test_reimporting_the_same_file_is_a_duplicate_no_op(
    cost_gql: GraphQL, run_job: RunJob, world: World, cost_store: CostStore, tmp_path: Path
) -> None:
    path = _good(tmp_path, uuid.uuid4().hex[:12])
    first = await queue_and_run(cost_gql, run_job, world, path)
    listing = store_listing(cost_store)

    second = await queue_and_run(cost_gql, run_job, world, path)

    assert (first["status"], second["status"]) == ("SUCCEEDED", "DUPLICATE")
    assert second["periods"] == first["periods"]
    assert second["accounts"] == first["accounts"]
    assert store_listing(cost_store) == listing


async def test_a_job_runs_only_as_its_requester_and_only_once(
    cost_gql: GraphQL, run_job: RunJob, world: World, tmp_path: Path
) -> None:
    admin = world.actor("billing_admin")
    queued = await cost_gql(admin, COST_IMPORT, {"path": str(_good(tmp_path, uuid.uuid4().hex[:12]))})
    import_id = queued["data"]["importCostReport"]["id"]

    with pytest.raises(JobRefused):  # another tenant's context cannot see, let alone run, the manifest
        await run_job(world.actor("startup_owner"), import_id)
    done = await run_job(admin, import_id)
    again = await run_job(admin, import_id)
    assert done.status == again.status == "succeeded"
    assert again.finished_at == done.finished_at


async def test_a_requester_who_left_the_operator_is_refused_and_nothing_runs(
    cost_gql: GraphQL,
    run_job: RunJob,
    world: World,
    tmp_path: Path,
    cost_store: CostStore,
    owner_conn: psycopg.Connection,
) -> None:
    admin = world.actor("billing_admin")
    queued = await cost_gql(admin, COST_IMPORT, {"path": str(_good(tmp_path, uuid.uuid4().hex[:12]))})
    import_id = queued["data"]["importCostReport"]["id"]
    listing = store_listing(cost_store)
    owner_conn.execute(
        "delete from memberships where user_id = %s and tenant_id = %s", (admin.user_id, admin.tenant_id)
    )

    with pytest.raises(JobRefused, match="not visible to its requester's context"):
        await run_job(admin, import_id)  # the job's first stage resolves its requester again: no longer a member
    row = owner_conn.execute(
        "select status, started_at from cost_imports where id = %s", (row_id(import_id),)
    ).fetchone()
    assert row == ("queued", None)
    assert store_listing(cost_store) == listing
