"""One cost store per operator, and cost rows that belong to whoever held the account at the time.

Attacks from a second operator's billing admin (its own world: operator, admin, customers) through GraphQL
as the real app role, each asserting the refusal or the empty answer *and* that the first operator's
numbers, catalog and files did not change.
"""

from __future__ import annotations

import asyncio
import random
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from cli.runtime import prepare, split_legacy_store
from cost import CostStore
from cost.digests import file_digest
from cost.imports import import_file
from cost.migration import migrate_store
from db.cost_store_owners import import_owners
from schema.settings import Settings
from tests.plugins.billing import PERIOD, SeedCosts, Seeded, cost_rows, set_up_billing
from tests.plugins.cost_files import write_legacy_csv
from tests.plugins.costs import RunJob
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import GraphQL
from tests.plugins.world import World

IMPORT = """
mutation($path: String!, $late: LateData! = REJECT) {
  importCostReport(path: $path, lateData: $late) { __typename ... on CostImport { id } ... on Problem { message } }
}"""
STATUS = "query($id: ID!) { costImport(id: $id) { status accounts periods error { reason } } }"
ASSIGN = """
mutation($account: String!, $tenant: String!) {
  assignCloudAccount(accountId: $account, tenantSlug: $tenant) {
    __typename ... on CloudAccount { accountId company { slug } } ... on Problem { message }
  }
}"""
COSTS = """
query($period: String!, $company: String) {
  costs(period: $period, groupBy: [ACCOUNT], metrics: [BILLED], company: $company) { account currency billed }
}"""
ACCOUNTS = "query { cloudAccounts(first: 100) { edges { node { accountId company { slug } } } } }"
PREVIEW = "query($tenant: String!, $period: String!) { previewInvoice(tenantSlug: $tenant, period: $period) { total } }"
CLOSE = """
mutation($tenant: String!, $period: String!) {
  closeInvoice(tenantSlug: $tenant, period: $period) { __typename ... on Invoice { total } ... on Problem { message } }
}"""
NEXT_PERIOD = "2026-11"


def _account() -> str:
    return str(random.randrange(10**11, 10**12))


def _rows(account: str, costs: list[str], period: str = PERIOD) -> list[dict[str, str]]:
    year, month = period.split("-")
    return [
        {
            "bill/BillingPeriodStartDate": f"{year}-{month}-01T00:00:00.000Z",
            "lineItem/UsageAccountId": account,
            "lineItem/UsageStartDate": f"{year}-{month}-{2 + i:02d}T00:00:00Z",
            "lineItem/UsageEndDate": f"{year}-{month}-{2 + i:02d}T01:00:00Z",
            "lineItem/UnblendedCost": cost,
        }
        for i, cost in enumerate(costs)
    ]


async def _import(gql: GraphQL, run_job: RunJob, world: World, path: Path, late: str | None = None) -> dict[str, Any]:
    admin = world.actor("billing_admin")
    queued = await gql(admin, IMPORT, {"path": str(path), **({"late": late} if late else {})})
    assert queued["data"]["importCostReport"]["__typename"] == "CostImport", queued
    job_id = queued["data"]["importCostReport"]["id"]
    await run_job(admin, job_id)
    status = await gql(admin, STATUS, {"id": job_id})
    assert "errors" not in status, status
    return dict(status["data"]["costImport"])


async def _assign(gql: GraphQL, world: World, account: str, tenant: str = "startup") -> dict[str, Any]:
    result = await gql(world.actor("billing_admin"), ASSIGN, {"account": account, "tenant": world.slugs[tenant]})
    return dict(result["data"]["assignCloudAccount"])


async def _costs(
    gql: GraphQL, world: World, actor: str, period: str = PERIOD, company: str | None = None
) -> dict[str, Decimal]:
    result = await gql(world.actor(actor), COSTS, {"period": period, "company": company})
    assert "errors" not in result, result
    return {row["account"]: Decimal(row["billed"]) for row in result["data"]["costs"]}


def _files(root: Path) -> dict[str, bytes]:
    return (
        {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
        if root.exists()
        else {}
    )


def _operator_root(cost_store: CostStore, world: World) -> Path:
    return Path(cost_store.for_operator(world.tenants["operator"]).root)


async def test_two_operators_with_overlapping_account_ids_each_see_only_their_own(
    cost_gql: GraphQL,
    run_job: RunJob,
    world: World,
    make_world: Callable[[], World],
    cost_store: CostStore,
    tmp_path: Path,
) -> None:
    second = make_world()
    shared = _account()
    first_file = write_legacy_csv(tmp_path / "first.csv", _rows(shared, ["1.25", "2.5"]))
    second_file = write_legacy_csv(tmp_path / "second.csv", _rows(shared, ["7", "7", "7"]))
    assert (await _import(cost_gql, run_job, world, first_file))["status"] == "SUCCEEDED"
    assert (await _import(cost_gql, run_job, second, second_file))["status"] == "SUCCEEDED"
    # The same account id, assigned by each operator to its own customer.
    assert (await _assign(cost_gql, world, shared))["__typename"] == "CloudAccount"
    assert (await _assign(cost_gql, second, shared))["__typename"] == "CloudAccount"

    for w, total in ((world, Decimal("3.75")), (second, Decimal(21))):
        assert await _costs(cost_gql, w, "billing_admin") == {shared: total}
        assert await _costs(cost_gql, w, "startup_owner") == {shared: total}
        assert await _costs(cost_gql, w, "vc_active", company=w.slugs["startup"]) == {shared: total}
        listed = await cost_gql(w.actor("billing_admin"), ACCOUNTS)
        assert [e["node"] for e in listed["data"]["cloudAccounts"]["edges"]] == [
            {"accountId": shared, "company": {"slug": w.slugs["startup"]}}
        ]
    # The other operator's customer is not a company either operator's admin can name.
    assert (
        await cost_gql(second.actor("billing_admin"), COSTS, {"period": PERIOD, "company": world.slugs["startup"]})
    )["data"] == {"costs": None}

    # Duplicate detection is per operator: operator 2's duplicate answers with its own file's accounts, and
    # a byte-identical copy of operator 1's file is news to operator 2 (nothing of operator 1 is consulted).
    first_before = _files(_operator_root(cost_store, world))
    shutil.copy(second_file, tmp_path / "second-again.csv")
    again = await _import(cost_gql, run_job, second, tmp_path / "second-again.csv")
    assert (again["status"], again["accounts"]) == ("DUPLICATE", [shared])
    other_account = _account()
    # (another payer: a file of the same export and period would replace the first one, as it should)
    mine = write_legacy_csv(
        tmp_path / "mine.csv", [{**r, "bill/PayerAccountId": "123412341234"} for r in _rows(other_account, ["4"])]
    )
    assert (await _import(cost_gql, run_job, world, mine))["status"] == "SUCCEEDED"
    first_before = _files(_operator_root(cost_store, world))
    shutil.copy(mine, tmp_path / "mine-copy.csv")
    copied = await _import(cost_gql, run_job, second, tmp_path / "mine-copy.csv")
    assert (copied["status"], copied["accounts"]) == ("SUCCEEDED", [other_account])
    assert _files(_operator_root(cost_store, world)) == first_before
    assert await _costs(cost_gql, world, "billing_admin") == {shared: Decimal("3.75")}


async def test_a_forged_file_of_another_operator_leaves_a_closed_period_and_its_invoices_alone(
    cost_gql: GraphQL,
    run_job: RunJob,
    world: World,
    make_world: Callable[[], World],
    seed_costs: SeedCosts,
    cost_store: CostStore,
    tmp_path: Path,
    owner_conn: psycopg.Connection,
) -> None:
    seeded = seed_costs(("startup",))
    await set_up_billing(cost_gql, world, ("startup",))
    victim = seeded.accounts["startup"][0]
    closed = await cost_gql(world.actor("billing_admin"), CLOSE, {"tenant": world.slugs["startup"], "period": PERIOD})
    assert closed["data"]["closeInvoice"]["__typename"] == "Invoice", closed
    costs_before = await _costs(cost_gql, world, "startup_owner")
    admin_before = await _costs(cost_gql, world, "billing_admin")
    preview_before = await cost_gql(
        world.actor("billing_admin"), PREVIEW, {"tenant": world.slugs["startup"], "period": PERIOD}
    )
    catalog_before = cost_store.for_operator(world.tenants["operator"]).catalog()
    files_before = _files(_operator_root(cost_store, world))
    invoices_before = owner_conn.execute(
        "select count(*), sum(total) from invoices where operator_id = %s", (world.tenants["operator"],)
    ).fetchone()

    attacker = make_world()
    forged = write_legacy_csv(tmp_path / "forged.csv", _rows(victim, ["1000000"]))
    for late in ("REJECT", "CORRECTIONS"):
        outcome = await _import(cost_gql, run_job, attacker, forged, late)
        assert outcome["status"] in ("SUCCEEDED", "DUPLICATE"), outcome  # into the attacker's own store
    # The attacker may even assign the id to its own customer: it reads its forged rows, nothing of ours.
    assert (await _assign(cost_gql, attacker, victim))["__typename"] == "CloudAccount"
    assert await _costs(cost_gql, attacker, "startup_owner") == {victim: Decimal(1000000)}

    assert await _costs(cost_gql, world, "startup_owner") == costs_before
    assert await _costs(cost_gql, world, "billing_admin") == admin_before
    assert await _costs(cost_gql, world, "startup_owner", NEXT_PERIOD) == {}
    preview_after = await cost_gql(
        world.actor("billing_admin"), PREVIEW, {"tenant": world.slugs["startup"], "period": PERIOD}
    )
    assert preview_after == preview_before
    assert Decimal(preview_after["data"]["previewInvoice"]["total"]) == seeded.expected_total("startup")
    nothing_next = await cost_gql(
        world.actor("billing_admin"), PREVIEW, {"tenant": world.slugs["startup"], "period": NEXT_PERIOD}
    )
    assert nothing_next["data"] == {"previewInvoice": None}  # no data next month: no correction reached our customer
    assert cost_store.for_operator(world.tenants["operator"]).catalog() == catalog_before
    assert _files(_operator_root(cost_store, world)) == files_before
    assert (
        owner_conn.execute(
            "select count(*), sum(total) from invoices where operator_id = %s", (world.tenants["operator"],)
        ).fetchone()
        == invoices_before
    )


async def test_assigning_an_id_only_another_operator_imported_reads_nothing(
    cost_gql: GraphQL,
    world: World,
    make_world: Callable[[], World],
    seed_costs: SeedCosts,
    cost_store: CostStore,
) -> None:
    seeded = seed_costs(("startup",))
    files_before = _files(_operator_root(cost_store, world))
    attacker = make_world()
    for account in seeded.accounts["startup"]:
        assert (await _assign(cost_gql, attacker, account))["__typename"] == "CloudAccount"
    assert await _costs(cost_gql, attacker, "startup_owner") == {}
    assert await _costs(cost_gql, attacker, "billing_admin") == {}
    assert await _costs(cost_gql, attacker, "vc_active", company=attacker.slugs["startup"]) == {}
    assert set(await _costs(cost_gql, world, "startup_owner")) == set(seeded.accounts["startup"])
    assert _files(_operator_root(cost_store, world)) == files_before


async def test_a_moved_account_keeps_each_holders_rows(
    cost_gql: GraphQL,
    world: World,
    seed_costs: SeedCosts,
    owner_conn: psycopg.Connection,
) -> None:
    seeded = seed_costs(("startup", "other_startup"), per_account=48)
    moved = seeded.accounts["startup"][0]
    assert (await _assign(cost_gql, world, moved, "other_startup"))["__typename"] == "CloudAccount"
    # The move happened "now"; put it at an exact hour inside the period (what the trigger would record then).
    at = datetime(2026, 10, 15, 6, tzinfo=UTC)
    with owner_conn.transaction():
        owner_conn.execute(
            "update cloud_account_assignments set valid_from = %s, valid_to = %s"
            " where account_id = %s and tenant_id = %s",
            (datetime(2026, 1, 1, tzinfo=UTC), at, moved, world.tenants["startup"]),
        )
        owner_conn.execute(
            "update cloud_account_assignments set valid_from = %s where account_id = %s and tenant_id = %s",
            (at, moved, world.tenants["other_startup"]),
        )
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")

    def billed(rows: list[dict[str, str]]) -> Decimal:
        return sum((Decimal(r["lineItem/UnblendedCost"]) for r in rows), Decimal(0))

    of_moved = [r for r in seeded.rows if r["lineItem/UsageAccountId"] == moved]
    before = [r for r in of_moved if r["lineItem/UsageStartDate"] < stamp]
    after = [r for r in of_moved if r["lineItem/UsageStartDate"] >= stamp]
    assert before
    assert after

    startup = await _costs(cost_gql, world, "startup_owner")
    other = await _costs(cost_gql, world, "other_startup_owner")
    assert startup[moved] == billed(before)
    assert other[moved] == billed(after)
    assert await _costs(cost_gql, world, "vc_active", company=world.slugs["startup"]) == startup
    admin = await _costs(cost_gql, world, "billing_admin")
    assert admin[moved] == billed(of_moved)
    assert await _costs(cost_gql, world, "billing_admin", company=world.slugs["startup"]) == startup
    assert await _costs(cost_gql, world, "billing_admin", company=world.slugs["other_startup"]) == other

    # Invoices follow the same split.
    await set_up_billing(cost_gql, world)
    rows = [r for r in seeded.rows if r not in after]
    split = Seeded(
        PERIOD, {"startup": seeded.accounts["startup"], "other_startup": seeded.accounts["other_startup"]}, rows=rows
    )
    moved_in = Seeded(
        PERIOD,
        {"other_startup": [*seeded.accounts["other_startup"], moved]},
        rows=[r for r in seeded.rows if r not in before],
    )
    for tenant, expected in (
        ("startup", split.expected_total("startup")),
        ("other_startup", moved_in.expected_total("other_startup")),
    ):
        variables = {"tenant": world.slugs[tenant], "period": PERIOD}
        preview = await cost_gql(world.actor("billing_admin"), PREVIEW, variables)
        assert Decimal(preview["data"]["previewInvoice"]["total"]) == expected, tenant


async def test_store_migration_moves_an_old_store_and_keeps_the_totals(
    cost_gql: GraphQL,
    world: World,
    make_world: Callable[[], World],
    cost_store: CostStore,
    tmp_path: Path,
    owner_conn: psycopg.Connection,
) -> None:
    second = make_world()
    worlds = (world, second)
    root = Path(cost_store.root)
    # The old layout: every operator's imports in the root's one catalog.
    legacy = CostStore(str(root))
    legacy.operator_id = world.tenants["operator"]  # only so that import_file writes the root, as it did
    accounts = {w.suffix: [_account(), _account()] for w in worlds}
    expected: dict[str, dict[str, Decimal]] = {}
    for w in worlds:
        rows = cost_rows(accounts[w.suffix], PERIOD, 5, seed=len(expected))
        path = write_legacy_csv(tmp_path / f"{w.suffix}.csv", [{**r, "bill/PayerAccountId": w.suffix} for r in rows])
        import_file(str(path), legacy)
        expected[w.suffix] = {
            a: sum(
                (Decimal(r["lineItem/UnblendedCost"]) for r in rows if r["lineItem/UsageAccountId"] == a), Decimal(0)
            )
            for a in accounts[w.suffix]
        }
        with owner_conn.transaction():
            owner_conn.execute(
                "insert into cost_imports (tenant_id, source_uri, digest, status, created_by)"
                " select %s, %s, %s, 'succeeded', user_id from memberships where tenant_id = %s limit 1",
                (w.tenants["operator"], str(path), file_digest(str(path)), w.tenants["operator"]),
            )
            for account in accounts[w.suffix]:
                owner_conn.execute(
                    "insert into cloud_accounts (tenant_id, account_id) values (%s, %s)",
                    (w.tenants["startup"], account),
                )
    assert (root / "_catalog" / "HEAD").is_file()
    for w in worlds:
        assert await _costs(cost_gql, w, "billing_admin") == {}  # the old root is not read

    result = migrate_store(CostStore(str(root)), import_owners(owner_conn))
    assert result.imports == {world.tenants["operator"]: 1, second.tenants["operator"]: 1}
    assert result.unattributed == ()
    assert not (root / "_catalog" / "HEAD").exists()
    assert not any((root / "imports").iterdir()) if (root / "imports").exists() else True
    for w in worlds:
        assert await _costs(cost_gql, w, "billing_admin") == expected[w.suffix]
        assert await _costs(cost_gql, w, "startup_owner") == expected[w.suffix]
    files = _files(root)
    again = migrate_store(CostStore(str(root)), import_owners(owner_conn))
    assert (again.imports, again.unattributed, _files(root)) == ({}, (), files)


async def test_migrating_splits_an_old_store_without_being_asked(
    cost_gql: GraphQL,
    world: World,
    cost_store: CostStore,
    tmp_path: Path,
    owner_conn: psycopg.Connection,
    test_database: TestDatabase,
) -> None:
    """`prepare()` (serve, worker, db upgrade with the owner's DSN) moves an old-layout store as part of migrating."""
    root = Path(cost_store.root)
    legacy = CostStore(str(root))
    legacy.operator_id = world.tenants["operator"]  # only so that import_file writes the root, as it did
    account = _account()
    rows = cost_rows([account], PERIOD, 4, seed=7)
    path = write_legacy_csv(tmp_path / "old.csv", rows)
    import_file(str(path), legacy)
    with owner_conn.transaction():
        owner_conn.execute(
            "insert into cost_imports (tenant_id, source_uri, digest, status, created_by)"
            " select %s, %s, %s, 'succeeded', user_id from memberships where tenant_id = %s limit 1",
            (world.tenants["operator"], str(path), file_digest(str(path)), world.tenants["operator"]),
        )
        owner_conn.execute(
            "insert into cloud_accounts (tenant_id, account_id) values (%s, %s)", (world.tenants["startup"], account)
        )
    assert await _costs(cost_gql, world, "billing_admin") == {}

    settings = Settings(
        database_url=test_database.app_url,
        migration_database_url=test_database.owner_url,
        cost_store=str(root),
        jwt_secret="x" * 32,
    )
    await asyncio.to_thread(prepare, settings)

    assert not (root / "_catalog" / "HEAD").exists()
    total = sum((Decimal(r["lineItem/UnblendedCost"]) for r in rows), Decimal(0))
    assert await _costs(cost_gql, world, "billing_admin") == {account: total}
    assert split_legacy_store(settings, test_database.owner_url).imports == {}
