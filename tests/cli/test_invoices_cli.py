"""`roundpool invoices close`: the command's function in-process, as the world's billing admin."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from cli.invoices import close_invoices
from cost import CostStore
from db.session import Database
from resolvers.common.errors import Forbidden
from resolvers.common.principals import Member
from tests.plugins.billing import PERIOD, SeedCosts, set_up_billing
from tests.plugins.graphql import GraphQL
from tests.plugins.world import World


async def test_close_all_then_one(
    cost_gql: GraphQL, world: World, seed_costs: SeedCosts, database: Database, cost_store: CostStore
) -> None:
    seeded = seed_costs()
    await set_up_billing(cost_gql, world)
    admin = world.actor("billing_admin")
    assert admin.user_id is not None
    member = Member(admin.user_id, world.slugs["operator"])
    summary = await close_invoices(database, cost_store, member, PERIOD, None, show_progress=True)
    assert (summary["total"], summary["closed"], summary["failed"]) == (2, 2, 0)
    for tenant in ("startup", "other_startup"):
        assert Decimal(summary["invoices"][world.slugs[tenant]]["total"]) == seeded.expected_total(tenant)
    again = await close_invoices(database, cost_store, member, PERIOD, world.slugs["startup"])
    assert again["status"] == "already_closed"
    assert again["number"] in (1, 2)


async def test_only_billing_admins(
    cost_gql: GraphQL,
    world: World,
    seed_costs: SeedCosts,
    database: Database,
    cost_store: CostStore,
    owner_conn: psycopg.Connection,
) -> None:
    """The role is checked in the request that would close (the principal resolved inside it): a startup
    owner or a VC owner (no billing admin of an operator) closes nothing, one invoice or all."""
    seed_costs()
    await set_up_billing(cost_gql, world)

    def written() -> tuple[int, int]:
        row = owner_conn.execute(
            "select (select count(*) from invoices), (select count(*) from invoice_runs)"
        ).fetchone()
        assert row is not None
        return (row[0], row[1])

    before = written()
    for actor, acting_for in (("startup_owner", "startup"), ("vc_active", "vc_active")):
        user_id = world.actor(actor).user_id
        assert user_id is not None
        member = Member(user_id, world.slugs[acting_for])
        for tenant in (None, world.slugs["startup"]):
            with pytest.raises(Forbidden, match="this operation is for operator tenants"):
                await close_invoices(database, cost_store, member, PERIOD, tenant)
    assert written() == before
