"""A request's transaction under concurrent, cancelled and late statements: the connection stays usable and
nothing runs after the transaction ended."""

import asyncio

import pytest
from sqlalchemy import text

from db.errors import TransactionClosed
from db.session import Database, DbContext
from tests.plugins.world import World

pytestmark = pytest.mark.via_pgbouncer  # every test again through PgBouncer (tests/plugins/pgbouncer.py)


async def test_a_cancelled_statement_finishes_and_the_transaction_still_commits(
    database: Database, world: World
) -> None:
    actor = world.actor("startup_owner")
    async with database.transaction(DbContext(actor.user_id, actor.tenant_id)) as tx:
        slow = asyncio.ensure_future(tx.execute(text("select pg_sleep(0.3)")))
        await asyncio.sleep(0.05)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        # Without the shield the connection would be invalidated here ("Can't reconnect until invalid
        # transaction is rolled back").
        assert (await tx.execute(text("select current_setting('app.user_id')"))).scalar_one() == str(actor.user_id)
    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_the_end_of_the_block_waits_for_statements_whose_callers_were_cancelled(
    database: Database, world: World
) -> None:
    actor = world.actor("startup_owner")
    async with database.transaction(DbContext(actor.user_id, actor.tenant_id)) as tx:
        slow = asyncio.ensure_future(tx.execute(text("select pg_sleep(0.2)")))
        await asyncio.sleep(0.05)
        slow.cancel()
    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_statement_after_the_transaction_ended_is_refused(database: Database, world: World) -> None:
    actor = world.actor("startup_owner")
    async with database.transaction(DbContext(actor.user_id, actor.tenant_id)) as tx:
        await tx.execute(text("select 1"))
    with pytest.raises(TransactionClosed):
        await tx.execute(text("select 1"))
    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
