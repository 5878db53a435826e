"""Closing at the resolver level on real connections: two concurrent closes, a crash mid-close, the
close-all job on the real queue, and closes that change nothing once an invoice is closed."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from cost import CostStore
from db.queries import invoices as invoice_queries
from db.queries import tenancy
from db.session import Database, DbContext
from resolvers.billing import closing
from resolvers.billing.jobs import INVOICE_QUEUE
from resolvers.jobs import create_job_app
from tests.plugins.billing import PERIOD, SeedCosts, set_up_billing
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import GraphQL, row_id
from tests.plugins.world import World

CLOSE = """
mutation($tenant: String!, $period: String!) {
  closeInvoice(tenantSlug: $tenant, period: $period) { __typename ... on Invoice { id number total } }
}"""


def _state(owner_conn: psycopg.Connection, world: World) -> tuple[Any, ...]:
    tenant, operator = world.tenants["startup"], world.tenants["operator"]
    return (
        owner_conn.execute("select count(*) from invoices where tenant_id = %s", (tenant,)).fetchone(),
        owner_conn.execute("select count(*) from invoice_lines where tenant_id = %s", (tenant,)).fetchone(),
        owner_conn.execute("select next_number from invoice_counters where tenant_id = %s", (operator,)).fetchone(),
        owner_conn.execute("select count(*) from cost_period_locks where tenant_id = %s", (operator,)).fetchone(),
    )


async def _close_on(database: Database, store: CostStore, world: World, key: str | None) -> Any:
    admin = world.actor("billing_admin")
    assert admin.user_id is not None
    async with database.transaction(DbContext(admin.user_id, admin.tenant_id)) as tx:
        customer = await tenancy.tenant_by_slug(tx, world.slugs["startup"])
        assert customer is not None
        return await closing.close_for(tx, store, customer, PERIOD, key)


@pytest.mark.parametrize("serialised", [True, False], ids=["advisory-lock", "unique-index-only"])
async def test_two_concurrent_closes_make_one_invoice(
    cost_gql: GraphQL,
    world: World,
    seed_costs: SeedCosts,
    cost_store: CostStore,
    test_database: TestDatabase,
    owner_conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    serialised: bool,
) -> None:
    seed_costs()
    await set_up_billing(cost_gql, world)
    if not serialised:  # the unique index alone must still hold

        async def no_lock(*args: Any) -> None:
            return None

        monkeypatch.setattr(invoice_queries, "lock_tenant_period", no_lock)
    first, second = Database(test_database.app_url, pool_size=1), Database(test_database.app_url, pool_size=1)
    try:
        results = await asyncio.gather(
            _close_on(first, cost_store, world, None),
            _close_on(second, cost_store, world, None),
            return_exceptions=True,
        )
        made = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, closing.InvoiceAlreadyClosed)]
        assert (len(made), len(refused)) == (1, 1), results
        assert refused[0].invoice.id == made[0].id
        assert _state(owner_conn, world)[:3] == ((1,), (len(made[0].lines),), (2,))
    finally:
        await first.dispose()
        await second.dispose()


async def test_concurrent_closes_with_one_key_return_one_invoice(
    cost_gql: GraphQL,
    world: World,
    seed_costs: SeedCosts,
    cost_store: CostStore,
    test_database: TestDatabase,
) -> None:
    seed_costs()
    await set_up_billing(cost_gql, world)
    first, second = Database(test_database.app_url, pool_size=1), Database(test_database.app_url, pool_size=1)
    try:
        a, b = await asyncio.gather(
            _close_on(first, cost_store, world, "same"), _close_on(second, cost_store, world, "same")
        )
        assert a.id == b.id
        assert a.number == b.number == 1
    finally:
        await first.dispose()
        await second.dispose()


async def test_crash_mid_close_leaves_nothing(
    cost_gql: GraphQL,
    world: World,
    seed_costs: SeedCosts,
    owner_conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_costs()
    await set_up_billing(cost_gql, world)
    admin = world.actor("billing_admin")
    # Number the operator's first invoice, so the counter exists before the crash.
    assert (await cost_gql(admin, CLOSE, {"tenant": world.slugs["other_startup"], "period": PERIOD}))["data"]
    before = _state(owner_conn, world)
    original = invoice_queries.insert_lines

    async def half_then_crash(tx: Any, tenant_id: Any, invoice_id: Any, lines: Any) -> None:
        await original(tx, tenant_id, invoice_id, lines[: len(lines) // 2])  # header and some lines written
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(invoice_queries, "insert_lines", half_then_crash)
    crashed = await cost_gql(admin, CLOSE, {"tenant": world.slugs["startup"], "period": PERIOD})
    assert crashed["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert _state(owner_conn, world) == before == ((0,), (0,), (2,), (1,))
    monkeypatch.setattr(invoice_queries, "insert_lines", original)
    done = await cost_gql(admin, CLOSE, {"tenant": world.slugs["startup"], "period": PERIOD})
    assert done["data"]["closeInvoice"]["number"] == 2  # the crashed close consumed no number


async def test_close_all_job_on_the_queue(
    cost_gql: GraphQL,
    world: World,
    seed_costs: SeedCosts,
    cost_store: CostStore,
    database: Database,
    test_database: TestDatabase,
) -> None:
    seeded = seed_costs()
    await set_up_billing(cost_gql, world)
    admin = world.actor("billing_admin")
    queued = await cost_gql(
        admin,
        'mutation { closeInvoices(period: "2026-10") { __typename ... on InvoiceRun '
        "{ id status total } ... on Problem { message } } }",
    )
    run = queued["data"]["closeInvoices"]
    assert (run["__typename"], run.get("status")) == ("InvoiceRun", "QUEUED"), run
    job_app = create_job_app(test_database.app_url, database, cost_store)  # registers the close task too
    async with job_app.open_async():
        await job_app.run_worker_async(queues=[INVOICE_QUEUE], wait=False, install_signal_handlers=False, name="test")
    status = await cost_gql(
        admin, "query($id: ID!) { invoiceRun(id: $id) { status total closed failed errors } }", {"id": run["id"]}
    )
    assert status["data"]["invoiceRun"] == {"status": "SUCCEEDED", "total": 2, "closed": 2, "failed": 0, "errors": []}
    listed = await cost_gql(
        admin, 'query { invoices(period: "2026-10") { edges { node { number total company { slug } } } } }'
    )
    by_slug = {e["node"]["company"]["slug"]: e["node"] for e in listed["data"]["invoices"]["edges"]}
    assert sorted(n["number"] for n in by_slug.values()) == [1, 2]
    for tenant in ("startup", "other_startup"):
        assert Decimal(by_slug[world.slugs[tenant]]["total"]) == seeded.expected_total(tenant)
    denied = await cost_gql(
        world.actor("startup_owner"), 'mutation { closeInvoices(period: "2026-10") { __typename } }'
    )
    assert denied["data"]["closeInvoices"]["__typename"] == "NotAllowed"


async def test_no_mutation_changes_a_closed_invoice(
    cost_gql: GraphQL,
    world: World,
    seed_costs: SeedCosts,
    owner_conn: psycopg.Connection,
) -> None:
    seed_costs()
    await set_up_billing(cost_gql, world)
    admin = world.actor("billing_admin")
    closed = (await cost_gql(admin, CLOSE, {"tenant": world.slugs["startup"], "period": PERIOD}))["data"]

    def snapshot() -> Any:
        return owner_conn.execute(
            "select to_jsonb(i), (select jsonb_agg(to_jsonb(l) order by position) from invoice_lines l"
            " where l.invoice_id = i.id) from invoices i where id = %s",
            (row_id(closed["closeInvoice"]["id"]),),
        ).fetchone()

    before = snapshot()
    slug = world.slugs["startup"]
    for document, variables in (
        (
            'mutation($t: String!) { setCustomerBilling(tenantSlug: $t, settings: {taxRatePercent: "20", '
            'legalName: "Renamed"}) { __typename } }',
            {"t": slug},
        ),
        (
            'mutation($t: String!) { addCustomLineItem(tenantSlug: $t, description: "late fee", kind: FEE, '
            'amountType: FLAT, value: "99", period: "2026-10") { __typename } }',
            {"t": slug},
        ),
        ('mutation { setExchangeRate(period: "2026-10", currency: "EUR", rate: "0.9") { __typename } }', {}),
        (CLOSE, {"tenant": slug, "period": PERIOD}),
    ):
        result = await cost_gql(admin, document, variables)
        assert "errors" not in result, result
    for name in ("startup_owner", "vc_active"):
        result = await cost_gql(
            world.actor(name),
            'mutation($id: ID!) { voidInvoice(id: $id, reason: "x") { __typename } }',
            {"id": closed["closeInvoice"]["id"]},
        )
        assert result["data"]["voidInvoice"]["__typename"] == "NotAllowed"
    assert snapshot() == before
