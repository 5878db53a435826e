"""Statements compiled once and run on the driver connection (db/compiled.py, RequestTransaction.fetch): the
same rows as the SQLAlchemy path, the same guarantees (no statement without the context or outside the
server's transaction, errors mapped to the same classes, one statement at a time), the commit and rollback
on the driver, and psycopg's prepare_threshold honoured, direct and through PgBouncer."""

import asyncio
from dataclasses import FrozenInstanceError, dataclass

import psycopg
import pytest
from sqlalchemy import Uuid, bindparam, select, text

from db.compiled import compiled, records_of
from db.errors import (
    DatabaseError,
    InvalidValue,
    MissingContext,
    PolicyViolation,
    StatementTimeout,
    TransactionClosed,
    UniqueViolation,
)
from db.pagination import Window, keyset, page_of
from db.queries import audit, tenancy
from db.records import AuditEventRecord, TenantRecord, UserRecord
from db.session import Database, DbContext, RequestTransaction
from db.tables import audit_events, tenants, users
from tests.plugins.database import TestDatabase
from tests.plugins.world import World

pytestmark = pytest.mark.via_pgbouncer  # every test again through PgBouncer (tests/plugins/pgbouncer.py)

_ONE = compiled(text("select cast(:x as int) + 1 as y"))


def _context(world: World, name: str = "startup_owner") -> DbContext:
    actor = world.actor(name)
    assert actor.user_id is not None
    return DbContext(user_id=actor.user_id, tenant_id=actor.tenant_id)


def _seed_events(owner_conn: psycopg.Connection, world: World, n: int) -> None:
    tenant = world.tenants["startup"]
    for i in range(n):
        owner_conn.execute(
            "insert into audit_events (tenant_id, occurred_at, action, subject_type, subject_id, details)"
            " values (%s, now(), 'test.event', 'probe', %s, '{\"i\": 1}'::jsonb)",
            (tenant, str(i)),
        )


async def _reference_page(tx: RequestTransaction, window: Window) -> list[AuditEventRecord]:
    """The page as the SQLAlchemy path builds it (keyset on a statement built per call)."""
    statement = select(audit_events).where(audit_events.c.tenant_id == tx.context.tenant_id)
    rows = (await tx.execute(keyset(statement, [audit_events.c.id], window, descending=True))).all()
    return page_of([AuditEventRecord(**r._mapping) for r in rows], window).items


async def test_every_window_shape_returns_the_rows_of_the_sqlalchemy_path(
    database: Database, world: World, owner_conn: psycopg.Connection
) -> None:
    _seed_events(owner_conn, world, 7)
    context = _context(world)
    assert context.tenant_id is not None
    async with database.transaction(context) as tx:
        everything = await audit.audit_page(tx, context.tenant_id, Window(size=100))
        ids = [e.id for e in everything.items]
        assert len(ids) >= 7
        assert ids == sorted(ids, reverse=True)
        middle = (ids[3],)
        windows = [
            Window(size=2),
            Window(size=2, after=middle),
            Window(size=2, before=middle, backwards=True),
            Window(size=2, after=(ids[0],), before=(ids[5],)),
            Window(size=3, backwards=True),
            Window(size=2, after=(ids[1],), before=(ids[6],), backwards=True),
        ]
        for window in windows:
            page = await audit.audit_page(tx, context.tenant_id, window)
            assert page.items == await _reference_page(tx, window), window
            assert page.count is not None
            assert await page.count() == len(ids)
        other = world.tenants["other_startup"]  # the policies decide, as on the SQLAlchemy path
        assert (await audit.audit_page(tx, other, Window(size=5))).items == []


async def test_users_and_tenants_by_id_match_the_tables(database: Database, world: World) -> None:
    context = _context(world)
    ids = [world.tenants["startup"], world.tenants["other_startup"]]
    async with database.transaction(context) as tx:
        found = await tenancy.tenants_by_ids(tx, ids)
        expected = (await tx.execute(select(tenants).where(tenants.c.id.in_(ids)))).all()
        assert found == [TenantRecord(**r._mapping) for r in expected]
        assert [t.id for t in found] == [world.tenants["startup"]]  # another startup is not shown
        assert context.user_id is not None
        me = await tenancy.users_by_ids(tx, [context.user_id])
        row = (await tx.execute(select(users).where(users.c.id == context.user_id))).one()
        assert me == [UserRecord(id=row.id, email=row.email, display_name=row.display_name, created_at=row.created_at)]
        assert await tenancy.users_by_ids(tx, []) == []


async def test_a_statement_needs_a_context_and_an_open_transaction(database: Database, world: World) -> None:
    session = database._sessions()
    try:
        with pytest.raises(MissingContext):
            await session.fetch(_ONE, {"x": 1})
    finally:
        await session.close()
    async with database.transaction(_context(world)) as tx:
        assert await tx.fetch(_ONE, {"x": 1}) == [(2,)]
        await tx.fetch(compiled(text("commit")))  # the server's transaction ended behind the wrapper's back
        with pytest.raises(MissingContext):
            await tx.fetch(_ONE, {"x": 1})
    with pytest.raises(TransactionClosed):
        await tx.fetch(_ONE, {"x": 1})


async def test_the_context_is_bound_before_the_first_statement(database: Database, world: World) -> None:
    context = _context(world)
    probe = compiled(text("select current_setting('app.user_id', true), current_setting('app.tenant_id', true)"))
    async with database.transaction(context) as tx:
        assert await tx.fetch(probe) == [(str(context.user_id), str(context.tenant_id))]


@pytest.mark.parametrize(
    ("statements", "mapped"),
    [
        (["select 1 / 0"], InvalidValue),
        (["select 'x'::int"], InvalidValue),
        (["select pg_sleep(1)"], StatementTimeout),
        (["insert into users (email, display_name) values ('a@example.test', 'a')"], PolicyViolation),
        (
            [
                "create temporary table twice_probe (x int unique) on commit drop",
                "insert into twice_probe values (1), (1)",
            ],
            UniqueViolation,
        ),
    ],
    ids=["division-by-zero", "bad-text", "timeout", "privilege", "unique"],
)
async def test_a_refused_statement_raises_the_class_execute_raises(
    app_url: str, world: World, statements: list[str], mapped: type[DatabaseError]
) -> None:
    db = Database(app_url, pool_size=1, statement_timeout_ms=100)
    raised: list[type[BaseException]] = []

    async def run(tx: RequestTransaction, statement: str, compiled_once: bool) -> None:
        if compiled_once:
            await tx.fetch(compiled(text(statement)))
        else:
            await tx.execute(text(statement))

    try:
        for compiled_once in (False, True):
            async with db.transaction(_context(world)) as tx:
                for statement in statements[:-1]:
                    await run(tx, statement, compiled_once)
                with pytest.raises(DatabaseError) as error:
                    await run(tx, statements[-1], compiled_once)
                raised.append(type(error.value))
    finally:
        await db.dispose()
    assert raised == [mapped, mapped]


async def test_a_deferred_refusal_at_the_drivers_commit_arrives_mapped(app_url: str, world: World) -> None:
    db = Database(app_url, pool_size=1)
    try:
        tx = db.transaction(_context(world))
        await tx.fetch(
            compiled(
                text(
                    "create temporary table deferred_probe (x int unique deferrable initially deferred) on commit drop"
                )
            )
        )
        await tx.fetch(compiled(text("insert into deferred_probe values (1), (1)")))  # checked only at commit
        with pytest.raises(UniqueViolation) as raised:
            await tx.__aexit__(None, None, None)
        assert raised.value.constraint == "deferred_probe_x_key"
        async with db.transaction(_context(world)) as again:  # the connection is usable again
            assert await again.fetch(_ONE, {"x": 2}) == [(3,)]
    finally:
        await db.dispose()


async def test_the_drivers_commit_keeps_and_its_rollback_undoes(test_database: TestDatabase, world: World) -> None:
    # One pooled connection, direct, so the session's temporary table outlives each transaction.
    db = Database(test_database.app_url, pool_size=1)
    count = compiled(text("select count(*) from kept_probe"))
    try:
        async with db.transaction(_context(world)) as tx:
            await tx.fetch(compiled(text("create temporary table kept_probe (x int)")))
            await tx.fetch(compiled(text("insert into kept_probe values (1)")))
        tx = db.transaction(_context(world))
        await tx.fetch(compiled(text("insert into kept_probe values (2)")))
        await tx.__aexit__(RuntimeError, RuntimeError("the block fails"), None)  # as a failing block ends
        async with db.transaction(_context(world)) as tx:
            assert await tx.fetch(count) == [(1,)]
            await tx.fetch(compiled(text("drop table kept_probe")))
    finally:
        await db.dispose()


async def test_concurrent_fetches_run_one_at_a_time_and_a_cancelled_one_finishes(
    database: Database, world: World
) -> None:
    slow = compiled(text("select pg_sleep(0.05), cast(:x as int) as x"))
    async with database.transaction(_context(world)) as tx:
        results = await asyncio.gather(*(tx.fetch(_ONE, {"x": i}) for i in range(10)))
        assert results == [[(i + 1,)] for i in range(10)]
        task = asyncio.ensure_future(tx.fetch(slow, {"x": 1}))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await tx.fetch(_ONE, {"x": 5}) == [(6,)]  # the connection was left idle, not half-way


async def test_psycopg_prepares_as_its_threshold_says(app_url: str, world: World) -> None:
    db = Database(app_url, pool_size=1)
    prepared = compiled(text("select count(*) from pg_prepared_statements where statement = :sql"))
    try:
        async with db.transaction(_context(world)) as tx:
            for _ in range(8):  # psycopg's default threshold is 5 executions
                await tx.fetch(_ONE, {"x": 1})
            found = (await tx.fetch(prepared, {"sql": _ONE.sql.replace("%(x)s", "$1")}))[0][0]
    finally:
        await db.dispose()
    never = "prepare_threshold=none" in app_url  # behind PgBouncer (db/location.py)
    assert found == (0 if never else 1)


def test_a_query_takes_exactly_its_parameters() -> None:
    with pytest.raises(ValueError, match="parameters"):
        _ONE.bind({})
    with pytest.raises(ValueError, match="parameters"):
        _ONE.bind({"x": 1, "y": 2})
    assert _ONE.bind({"x": 1}) == {"x": 1}


def test_a_record_must_match_the_columns_in_order() -> None:
    @dataclass(frozen=True)
    class Swapped:
        slug: str
        id: str

    with pytest.raises(ValueError, match="fields"):
        compiled(select(tenants.c.id, tenants.c.slug), Swapped)
    by_id = compiled(select(tenants.c.id, tenants.c.slug).where(tenants.c.id == bindparam("id", type_=Uuid)))
    assert by_id.params == ("id",)
    assert by_id.columns == ("id", "slug")


@dataclass(frozen=True)
class _Plain:
    id: int
    slug: str


@dataclass(frozen=True)
class _Checked:
    id: int
    slug: str

    def __post_init__(self) -> None:
        if self.id < 0:
            raise ValueError("a negative id")


def test_records_from_rows_are_the_constructors_records() -> None:
    rows = [(1, "a"), (2, "b")]
    made = records_of(_Plain, rows)
    assert made == [_Plain(1, "a"), _Plain(2, "b")]
    assert [hash(r) for r in made] == [hash(_Plain(1, "a")), hash(_Plain(2, "b"))]
    assert all(type(r) is _Plain for r in made)
    with pytest.raises(FrozenInstanceError):
        made[0].slug = "changed"  # type: ignore[misc]
    assert made[0].slug == "a"
    with pytest.raises(ValueError, match="longer"):  # a row of another shape is refused, never half read
        records_of(_Plain, [(3, "c", "extra")])


def test_records_that_validate_themselves_are_still_built_by_their_constructor() -> None:
    assert records_of(_Checked, [(1, "a")]) == [_Checked(1, "a")]
    with pytest.raises(ValueError, match="a negative id"):
        records_of(_Checked, [(-1, "a")])
