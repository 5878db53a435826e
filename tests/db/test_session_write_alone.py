"""A side transaction's statements sent alone: BEGIN, the context, the statements and COMMIT in one round trip
(RequestTransaction.write_alone, what the grant-read audit uses)."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy import text

from db.compiled import CompiledQuery, compiled
from db.errors import InvalidValue, MissingContext
from db.queries.audit import _RECORD_GRANT_READ
from db.session import Database, DbContext
from tests.plugins.world import World

pytestmark = pytest.mark.via_pgbouncer  # every test again through PgBouncer's transaction pooling

_FAILS = compiled(text("select 1 / 0"))
_CONTEXT_LEFT = "select current_setting('app.user_id', true), current_setting('app.tenant_id', true)"


def _read(startup: uuid.UUID, subject: str) -> tuple[CompiledQuery, dict[str, object]]:
    return _RECORD_GRANT_READ, {"startups": [str(startup)], "scope": "company", "subject": subject}


def _logged(owner_conn: psycopg.Connection, subjects: list[str]) -> list[tuple[object, ...]]:
    return owner_conn.execute(
        "select subject_id, tenant_id, actor_user_id, actor_tenant_id from audit_events"
        " where subject_id = any(%s) order by id",
        (subjects,),
    ).fetchall()


def _vc(world: World) -> DbContext:
    vc = world.actor("vc_active")
    assert vc.user_id is not None
    return DbContext(user_id=vc.user_id, tenant_id=vc.tenant_id)


async def _fails_after_writing(
    db: Database, context: DbContext, statements: list[tuple[CompiledQuery, dict[str, object]]]
) -> None:
    async with db.transaction(context) as tx:
        async with tx.aside() as side:
            await side.write_alone(statements)
        raise RuntimeError("the request fails after its side transaction")  # its own rolls back


async def _writes_after_a_statement(
    db: Database, context: DbContext, statement: tuple[CompiledQuery, dict[str, object]]
) -> None:
    async with db.transaction(context) as tx, tx.aside() as side:
        await side.execute(text("select 1"))
        await side.write_alone([statement])


async def test_the_statements_commit_together_under_the_context_whatever_the_request_does(
    app_url: str, world: World, owner_conn: psycopg.Connection
) -> None:
    context, startup = _vc(world), world.tenants["startup"]
    subjects = [f"alone-{uuid.uuid4()}", f"alone-{uuid.uuid4()}"]
    db = Database(app_url, pool_size=1)
    try:
        with pytest.raises(RuntimeError):
            await _fails_after_writing(db, context, [_read(startup, s) for s in subjects])
        async with db.side_connection() as conn:  # a pool of one: the connection it used, bound to nobody
            left = (await conn.execute(text(_CONTEXT_LEFT))).one()
            await conn.rollback()
    finally:
        await db.dispose()
    assert _logged(owner_conn, subjects) == [(s, startup, context.user_id, context.tenant_id) for s in subjects]
    assert tuple(value or "" for value in left) == ("", "")


async def test_a_failing_statement_commits_nothing_and_leaves_the_connection_usable(
    app_url: str, world: World, owner_conn: psycopg.Connection
) -> None:
    context, startup = _vc(world), world.tenants["startup"]
    subject = f"alone-{uuid.uuid4()}"
    db = Database(app_url, pool_size=1)
    try:
        with pytest.raises(InvalidValue):  # 22012, mapped as every statement's error is
            async with db.transaction(context) as tx, tx.aside() as side:
                await side.write_alone([_read(startup, subject), (_FAILS, {})])
        again = f"alone-{uuid.uuid4()}"
        async with db.transaction(context) as tx, tx.aside() as side:
            await side.write_alone([_read(startup, again)])
    finally:
        await db.dispose()
    assert _logged(owner_conn, [subject]) == []  # the read before the failure was rolled back with it
    assert [row[0] for row in _logged(owner_conn, [again])] == [again]


async def test_values_are_bound_as_literals(app_url: str, world: World, owner_conn: psycopg.Connection) -> None:
    context, startup = _vc(world), world.tenants["startup"]
    hostile = f"x'), ('{startup}', 'forged'); commit; select ('{uuid.uuid4()}"
    db = Database(app_url, pool_size=1)
    before = owner_conn.execute("select count(*) from audit_events where tenant_id = %s", (startup,)).fetchone()
    try:
        async with db.transaction(context) as tx, tx.aside() as side:
            await side.write_alone([_read(startup, hostile)])
    finally:
        await db.dispose()
    after = owner_conn.execute("select count(*) from audit_events where tenant_id = %s", (startup,)).fetchone()
    assert [row[0] for row in _logged(owner_conn, [hostile])] == [hostile]
    assert before is not None
    assert after == (before[0] + 1,)


async def test_statements_run_alone_only_in_a_transaction_that_has_not_begun(
    app_url: str, world: World, owner_conn: psycopg.Connection
) -> None:
    context, startup = _vc(world), world.tenants["startup"]
    subject = f"alone-{uuid.uuid4()}"
    db = Database(app_url, pool_size=1)
    try:
        with pytest.raises(MissingContext):
            await _writes_after_a_statement(db, context, _read(startup, subject))
    finally:
        await db.dispose()
    assert _logged(owner_conn, [subject]) == []
