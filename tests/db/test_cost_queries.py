"""`visible_account_scope`: the RLS query that alone produces an AccountScope, per actor."""

from __future__ import annotations

import psycopg

from cost import AccountScope
from db.queries.costs import visible_account_scope
from db.session import Database, DbContext
from tests.plugins.world import World


async def test_scope_is_what_the_policies_show_restricted_to_the_asked_tenants(
    database: Database, world: World, owner_conn: psycopg.Connection
) -> None:
    mine, theirs = f"mine-{world.suffix}", f"theirs-{world.suffix}"
    owner_conn.execute(
        "insert into cloud_accounts (tenant_id, account_id) values (%s, %s), (%s, %s)",
        (world.tenants["startup"], mine, world.tenants["other_startup"], theirs),
    )

    async def scope(actor: str, tenants: list[str] | None) -> set[str]:
        a = world.actor(actor)
        assert a.user_id is not None
        async with database.transaction(DbContext(user_id=a.user_id, tenant_id=a.tenant_id)) as tx:
            found = await visible_account_scope(tx, None if tenants is None else [world.tenants[t] for t in tenants])
        assert isinstance(found, AccountScope)
        return set(found.accounts)

    assert await scope("startup_viewer", None) == {mine}
    assert await scope("startup_viewer", ["other_startup"]) == set()  # asking is not seeing
    assert await scope("vc_active", ["startup"]) == {mine}
    assert await scope("vc_lacking_scope", ["startup"]) == set()
    assert await scope("billing_admin", None) == {mine, theirs}
    assert await scope("billing_admin", ["other_startup"]) == {theirs}
    assert await scope("other_startup_owner", None) == {theirs}
