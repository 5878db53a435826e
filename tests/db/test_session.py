"""The per-request context on pooled connections: nothing survives a transaction, and nothing starts
without a context."""

import asyncio
from uuid import UUID

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import text

from db.errors import InvalidValue, MissingContext
from db.session import NOBODY, Database, DbContext
from db.socket_waits import WaitingConnection
from tests.plugins.world import World

pytestmark = pytest.mark.via_pgbouncer  # every test again through PgBouncer (tests/plugins/pgbouncer.py)

_PROBE = text(
    "select pg_backend_pid(), current_setting('app.user_id', true), current_setting('app.tenant_id', true),"
    " (select array_agg(legal_name order by legal_name) from company_profiles)"
)


async def _probe(db: Database, user_id: UUID, tenant_id: UUID) -> tuple[int, str, str, list[str] | None]:
    async with db.transaction(DbContext(user_id=user_id, tenant_id=tenant_id)) as tx:
        row = (await tx.execute(_PROBE)).one()
        await asyncio.sleep(0)  # let another request interleave between statements
        return row[0], row[1], row[2], row[3]


async def _settings_outside_a_request(db: Database) -> tuple[int, str | None, str | None]:
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "select pg_backend_pid(), current_setting('app.user_id', true),"
                    " current_setting('app.tenant_id', true)"
                )
            )
        ).one()
        await conn.rollback()
        return row[0], row[1], row[2]


async def test_interleaved_requests_on_one_connection_never_see_each_others_context(app_url: str, world: World) -> None:
    db = Database(app_url, pool_size=1)
    first, second = world.actor("startup_owner"), world.actor("other_startup_owner")
    try:
        pids = set()
        for step in range(12):
            actor = first if step % 2 == 0 else second
            assert actor.user_id
            assert actor.tenant_id
            pid, user, tenant, names = await _probe(db, actor.user_id, actor.tenant_id)
            pids.add(pid)
            assert (user, tenant) == (str(actor.user_id), str(actor.tenant_id))
            key = "startup" if actor is first else "other_startup"
            assert names == [f"{key} {world.suffix} K.K."]
            after_pid, after_user, after_tenant = await _settings_outside_a_request(db)
            assert after_pid == pid
            assert (after_user or "", after_tenant or "") == ("", "")
        assert len(pids) == 1, "a pool of one must reuse one backend"
    finally:
        await db.dispose()


async def test_concurrent_requests_on_a_pool_of_two_stay_isolated(app_url: str, world: World) -> None:
    db = Database(app_url, pool_size=2)
    actors = [world.actor("startup_owner"), world.actor("other_startup_owner")] * 10
    try:
        results = await asyncio.gather(*(_probe(db, a.user_id, a.tenant_id) for a in actors))  # type: ignore[arg-type]
        pids = {r[0] for r in results}
        assert len(pids) <= 2
        for actor, (_, user, tenant, names) in zip(actors, results, strict=True):
            assert (user, tenant) == (str(actor.user_id), str(actor.tenant_id))
            key = "startup" if actor.name == "startup_owner" else "other_startup"
            assert names == [f"{key} {world.suffix} K.K."]
    finally:
        await db.dispose()


async def _local_setting_outside_a_request(db: Database) -> tuple[int, bool]:
    """The backend, and whether a `set local` through SQLAlchemy held in its transaction and ended with it."""
    timeout = text("select current_setting('statement_timeout')")
    async with db.engine.connect() as conn:
        pid = (await conn.execute(text("select pg_backend_pid()"))).scalar_one()
        before = (await conn.execute(timeout)).scalar_one()
        await conn.execute(text("set local statement_timeout = '4321ms'"))
        inside = (await conn.execute(timeout)).scalar_one()
        await conn.rollback()
        after = (await conn.execute(timeout)).scalar_one()
        await conn.rollback()
        return pid, inside == "4321ms" and after == before != inside


async def _failing_request(db: Database, context: DbContext) -> None:
    async with db.transaction(context) as tx:
        await tx.execute(text("select 1"))
        raise RuntimeError("the request fails")


async def test_a_connection_a_request_used_runs_the_pools_other_users_in_transactions(
    app_url: str, world: World
) -> None:
    """Requests run the driver in autocommit mode (their BEGIN travels with the opening); the connection goes
    back to the pool out of it, whether the request committed or failed, so the pool's other users (metrics,
    health, jobs) still get transactions: a `set local` holds until their rollback and no longer."""
    db = Database(app_url, pool_size=1, statement_timeout_ms=200)
    actor = world.actor("startup_owner")
    assert actor.user_id is not None
    context = DbContext(user_id=actor.user_id, tenant_id=actor.tenant_id)
    try:
        async with db.transaction(context) as tx:
            pid = (await tx.execute(text("select pg_backend_pid()"))).scalar_one()
        assert await _local_setting_outside_a_request(db) == (pid, True)
        with pytest.raises(RuntimeError):
            await _failing_request(db, context)
        assert await _local_setting_outside_a_request(db) == (pid, True)
        with pytest.raises(InvalidValue):  # the server aborted the transaction; rolled back at exit
            async with db.transaction(context) as tx:
                await tx.execute(text("select 1/0"))
        assert (await _local_setting_outside_a_request(db))[1]
    finally:
        await db.dispose()


async def test_a_session_without_context_refuses_to_begin(database: Database) -> None:
    session = database._sessions()
    try:
        with pytest.raises(MissingContext):
            await session.execute(text("select 1"))
    finally:
        await session.close()


async def test_statement_timeout_applies_to_every_request(app_url: str, world: World) -> None:
    db = Database(app_url, pool_size=1, statement_timeout_ms=200)
    actor = world.actor("startup_owner")
    try:
        async with db.transaction(DbContext(user_id=actor.user_id, tenant_id=actor.tenant_id)) as tx:  # type: ignore[arg-type]
            timeout = (await tx.execute(text("select current_setting('statement_timeout')"))).scalar_one()
        assert timeout == "200ms"
    finally:
        await db.dispose()


async def test_a_context_only_narrows_and_is_fixed_once_sealed(database: Database, world: World) -> None:
    """nobody → user → user acting for a tenant; never to another user, never once the work began."""
    owner, other = world.actor("startup_owner"), world.actor("other_startup_owner")
    assert owner.user_id is not None
    assert other.user_id is not None
    assert owner.tenant_id is not None
    probe = text("select current_setting('app.user_id', true), current_setting('app.tenant_id', true)")
    async with database.transaction(NOBODY) as tx:
        await tx.narrow(DbContext(user_id=owner.user_id))
        with pytest.raises(MissingContext):
            await tx.narrow(DbContext(user_id=other.user_id))
        await tx.narrow(DbContext(user_id=owner.user_id, tenant_id=owner.tenant_id))
        assert tuple((await tx.execute(probe)).one()) == (str(owner.user_id), str(owner.tenant_id))
        with pytest.raises(MissingContext):
            await tx.narrow(DbContext(user_id=owner.user_id, tenant_id=other.tenant_id))
    async with database.transaction(DbContext(user_id=owner.user_id)) as tx:
        tx.seal()
        with pytest.raises(MissingContext):
            await tx.narrow(DbContext(user_id=owner.user_id, tenant_id=owner.tenant_id))
        assert tuple((await tx.execute(probe)).one()) == (str(owner.user_id), "")


async def _leaked_setting(database: Database) -> str | None:
    async with database.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        cursor = await driver.execute("select current_setting('app.user_id', true)")
        row = await cursor.fetchone()
        assert row is not None
        await driver.commit()  # the driver began a transaction for the select: given back idle
        value: str | None = row[0]
        return value


async def test_a_connection_given_back_in_a_transaction_is_rolled_back(
    app_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool's reset rolls back what a caller left open on the driver behind SQLAlchemy's back (here a
    session-level setting made inside a transaction), and leaves alone a connection with nothing open."""
    rollbacks: list[object] = []
    rollback = WaitingConnection.rollback

    async def counted(self: WaitingConnection) -> None:
        rollbacks.append(self)
        await rollback(self)

    monkeypatch.setattr(WaitingConnection, "rollback", counted)
    database = Database(app_url, pool_size=1)  # one connection: each block below gets the same one
    try:
        assert await _leaked_setting(database) in (None, "")  # connected (SQLAlchemy's first connect rolls back)
        rollbacks.clear()
        async with database.engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            await driver.execute("begin")
            await driver.execute("select set_config('app.user_id', 'left-behind', false)")
            assert driver.pgconn.transaction_status == TransactionStatus.INTRANS
        assert len(rollbacks) == 1
        assert await _leaked_setting(database) in (None, "")
        assert len(rollbacks) == 1  # given back idle: no rollback sent
    finally:
        await database.dispose()
