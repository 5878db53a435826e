"""No pre-ping: a pooled connection the server dropped fails on the transaction's first statement, the
set_config, and the transaction goes on with a fresh connection; a drop after the first statement is an error."""

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db.session import Database, DbContext
from tests.plugins.database import TestDatabase
from tests.plugins.world import World

pytestmark = pytest.mark.via_pgbouncer  # every test again through PgBouncer (tests/plugins/pgbouncer.py)

_PROBE = text("select pg_backend_pid(), current_setting('app.user_id', true), current_setting('app.tenant_id', true)")


def _terminate(test_database: TestDatabase, pid: int) -> None:
    # The same role may end its own backends; directly, since through PgBouncer the statement could land on the
    # backend it ends.
    with psycopg.connect(test_database.app_url, autocommit=True) as conn:
        assert conn.execute("select pg_terminate_backend(%s, 5000)", (pid,)).fetchone() == (True,)


async def test_a_dropped_pooled_connection_is_replaced_at_the_first_statement(
    app_url: str, test_database: TestDatabase, world: World
) -> None:
    actor = world.actor("startup_owner")
    assert actor.user_id is not None
    context = DbContext(user_id=actor.user_id, tenant_id=actor.tenant_id)
    db = Database(app_url, pool_size=1)
    try:
        async with db.transaction(context) as tx:
            first_pid = (await tx.execute(_PROBE)).one()[0]
        _terminate(test_database, first_pid)
        async with db.transaction(context) as tx:
            pid, user, tenant = (await tx.execute(_PROBE)).one()
        assert pid != first_pid
        assert (user, tenant) == (str(actor.user_id), str(actor.tenant_id))
    finally:
        await db.dispose()


async def test_a_connection_dropped_mid_transaction_is_an_error_not_a_retry(
    app_url: str, test_database: TestDatabase, world: World
) -> None:
    actor = world.actor("startup_owner")
    assert actor.user_id is not None
    context = DbContext(user_id=actor.user_id, tenant_id=actor.tenant_id)
    db = Database(app_url, pool_size=1)
    try:
        async with db.transaction(context) as tx:
            pid = (await tx.execute(_PROBE)).one()[0]
        _terminate(test_database, pid)
        tx = db.transaction(context)
        await tx.execute(_PROBE)  # a fresh transaction on the dropped connection: retried, rebinds
        pid = (await tx.execute(_PROBE)).one()[0]
        _terminate(test_database, pid)
        with pytest.raises(DBAPIError):
            await tx.execute(_PROBE)
        await tx.__aexit__(DBAPIError, None, None)
        async with db.transaction(context) as tx:
            assert (await tx.execute(_PROBE)).one()[0] != pid
    finally:
        await db.dispose()
