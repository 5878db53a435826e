"""`roundpool invoices close`: the command's function in-process, as the world's billing admin."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cli.invoices import close_invoices
from cli.runtime import CliError
from cost import CostStore
from db.session import Database
from schema.authentication import resolve_principal
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
    principal = await resolve_principal(database, admin.user_id, world.slugs["operator"])
    summary = await close_invoices(database, cost_store, principal, PERIOD, None, show_progress=True)
    assert (summary["total"], summary["closed"], summary["failed"]) == (2, 2, 0)
    for tenant in ("startup", "other_startup"):
        assert Decimal(summary["invoices"][world.slugs[tenant]]["total"]) == seeded.expected_total(tenant)
    again = await close_invoices(database, cost_store, principal, PERIOD, world.slugs["startup"])
    assert again["status"] == "already_closed"
    assert again["number"] in (1, 2)


async def test_only_billing_admins(world: World, database: Database, cost_store: CostStore) -> None:
    owner = world.actor("startup_owner")
    assert owner.user_id is not None
    principal = await resolve_principal(database, owner.user_id, world.slugs["startup"])
    with pytest.raises(CliError):
        await close_invoices(database, cost_store, principal, PERIOD, None)
