"""The driver's errors leave a RequestTransaction mapped (db/errors.py), whether a statement, a savepoint's
statement or the commit raised them, so the query functions need not map them again."""

import pytest
from sqlalchemy import text

from db.errors import InvalidValue, TransactionClosed, UniqueViolation
from db.session import Database, DbContext
from tests.plugins.world import World

pytestmark = pytest.mark.via_pgbouncer  # every test again through PgBouncer (tests/plugins/pgbouncer.py)

_IMMEDIATE = text("create temporary table immediate_probe (x int unique) on commit drop")
_TWICE = text("insert into immediate_probe values (1), (1)")
_DEFERRED = text("create temporary table deferred_probe (x int unique deferrable initially deferred) on commit drop")


def _context(world: World) -> DbContext:
    actor = world.actor("startup_owner")
    assert actor.user_id is not None
    return DbContext(user_id=actor.user_id, tenant_id=actor.tenant_id)


async def test_a_statement_error_arrives_mapped_through_the_shielded_task(app_url: str, world: World) -> None:
    db = Database(app_url, pool_size=1)
    try:
        async with db.transaction(_context(world)) as tx:
            await tx.execute(_IMMEDIATE)
            with pytest.raises(UniqueViolation) as raised:
                await tx.execute(_TWICE)
        assert raised.value.constraint == "immediate_probe_x_key"
        async with db.transaction(_context(world)) as tx:
            await tx.execute(_IMMEDIATE)
            with pytest.raises(UniqueViolation):
                async with tx.savepoint():
                    await tx.execute(_TWICE)
            assert (await tx.execute(text("select count(*) from immediate_probe"))).scalar_one() == 0
    finally:
        await db.dispose()


async def test_an_error_mapped_already_passes_unchanged(app_url: str, world: World) -> None:
    db = Database(app_url, pool_size=1)
    try:
        async with db.transaction(_context(world)) as tx:
            pass
        with pytest.raises(TransactionClosed):
            await tx.execute(text("select 1"))
    finally:
        await db.dispose()


async def test_a_deferred_constraint_refused_at_commit_arrives_mapped(app_url: str, world: World) -> None:
    db = Database(app_url, pool_size=1)
    try:
        tx = db.transaction(_context(world))
        await tx.execute(_DEFERRED)
        await tx.execute(text("insert into deferred_probe values (1), (1)"))  # checked only at commit
        with pytest.raises(UniqueViolation) as raised:
            await tx.__aexit__(None, None, None)
        assert raised.value.constraint == "deferred_probe_x_key"
    finally:
        await db.dispose()


@pytest.mark.parametrize(
    "statement",
    ["select 1 / 0", "select 1e400::numeric(38, 18)", "select 'x'::int", "select (2 ^ 40)::int"],
    ids=["division-by-zero", "numeric-overflow", "bad-text", "integer-out-of-range"],
)
async def test_a_value_the_database_cannot_hold_arrives_as_invalid_value(
    app_url: str, world: World, statement: str
) -> None:
    db = Database(app_url, pool_size=1)
    try:
        async with db.transaction(_context(world)) as tx:
            with pytest.raises(InvalidValue):
                await tx.execute(text(statement))
    finally:
        await db.dispose()
