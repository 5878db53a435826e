"""app.open_request (policies/sql/0019_request_context.sql) attacked as the real app role: it binds a tenant only
for its member, binds nothing when it refuses, cannot be changed or bypassed by the app role, and the request
transaction it opens still only narrows and seals."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg.rows import dict_row
from sqlalchemy import text

from db.errors import MissingContext
from db.queries import onboarding
from db.session import NOBODY, Database, DbContext, TokenUser
from resolvers.common.rate_limit import RateLimiter
from tests.plugins.database import TestDatabase
from tests.plugins.world import World

_OPEN = "select * from app.open_request(%s, %s, %s, %s, %s, %s)"
_BOUND = "select current_setting('app.user_id', true), current_setting('app.tenant_id', true)"
_PROBE = text(
    "select current_setting('app.user_id', true), current_setting('app.tenant_id', true),"
    " current_setting('statement_timeout'), (select count(*) from company_profiles)"
)


def _users(owner_conn: psycopg.Connection) -> int:
    return owner_conn.execute("select count(*) from users").fetchone()[0]  # type: ignore[index]


def _refused(app_conn: psycopg.Connection, args: tuple[object, ...]) -> psycopg.Error:
    """Call app.open_request inside a savepoint of an open transaction; return its error, the savepoint undone."""
    with pytest.raises(psycopg.Error) as caught, app_conn.transaction():
        app_conn.execute(_OPEN, args)
    return caught.value


def test_a_member_gets_their_tenant_bound_and_the_policies_see_it(app_conn: psycopg.Connection, world: World) -> None:
    owner = world.actor("startup_owner")
    with app_conn.transaction():
        row = (
            app_conn.cursor(row_factory=dict_row)
            .execute(_OPEN, ("", str(owner.user_id), None, None, owner.tenant_slug, 1234))
            .fetchone()
        )
        assert row is not None
        assert (row["user_id"], row["tenant_id"], row["slug"], row["kind"], row["role"]) == (
            owner.user_id,
            owner.tenant_id,
            owner.tenant_slug,
            "startup",
            "owner",
        )
        assert app_conn.execute(_BOUND).fetchone() == (str(owner.user_id), str(owner.tenant_id))
        # the rows it returns are the ones the policies now show the user
        shown = app_conn.execute(
            "select u.email, u.display_name, u.created_at, t.name, t.operator_id, t.created_at"
            " from users u, tenants t where u.id = %s and t.id = %s",
            (owner.user_id, owner.tenant_id),
        ).fetchone()
        returned = ("email", "display_name", "user_created_at", "name", "operator_id", "tenant_created_at")
        assert shown == tuple(row[k] for k in returned)
        assert app_conn.execute("select current_setting('statement_timeout')").fetchone() == ("1234ms",)
        assert app_conn.execute("select app.current_tenant()").fetchone() == (owner.tenant_id,)
    app_conn.rollback()
    # transaction-local: nothing survives on the connection
    assert app_conn.execute(_BOUND).fetchone() in {(None, None), ("", "")}


def test_a_slug_the_user_is_not_a_member_of_is_refused_and_nothing_is_bound(
    app_conn: psycopg.Connection, owner_conn: psycopg.Connection, world: World
) -> None:
    owner, other = world.actor("startup_owner"), world.actor("other_startup_owner")
    with app_conn.transaction():
        before = app_conn.execute(_BOUND).fetchone()
        error = _refused(app_conn, ("", str(owner.user_id), None, None, other.tenant_slug, 5000))
        assert error.sqlstate == "RP403"
        assert "not a member" in str(error)
        # the refusal bound nothing: the transaction's context is what it was before the call
        assert app_conn.execute(_BOUND).fetchone() == before
        assert before in {(None, None), ("", "")}
        assert app_conn.execute("select count(*) from company_profiles").fetchone() == (0,)
        # nor a slug that does not exist, nor one written to look like a member's
        for slug in ("no-such-tenant", f"{owner.tenant_slug}' or true --", owner.tenant_slug.upper()):  # type: ignore[union-attr]
            assert _refused(app_conn, ("", str(owner.user_id), None, None, slug, 5000)).sqlstate == "RP403"
            assert app_conn.execute(_BOUND).fetchone() == before


def test_a_new_identity_refused_on_a_tenant_is_not_left_provisioned(
    app_conn: psycopg.Connection, owner_conn: psycopg.Connection, world: World
) -> None:
    users = _users(owner_conn)
    subject = f"idp|stranger-{uuid.uuid4().hex[:8]}"
    args = ("https://idp.example", subject, f"{subject[4:]}@x.example", "Stranger", world.slugs["startup"], 5000)
    with app_conn.transaction():
        assert _refused(app_conn, args).sqlstate == "RP403"
    assert _users(owner_conn) == users


def test_another_accounts_address_and_an_unverified_one_are_refused(
    app_conn: psycopg.Connection, owner_conn: psycopg.Connection, world: World
) -> None:
    users = _users(owner_conn)
    taken = world.actor("startup_owner").email
    with app_conn.transaction():
        assert _refused(app_conn, ("https://idp.example", "idp|thief", taken, None, None, 5000)).sqlstate == "28000"
        assert _refused(app_conn, ("https://idp.example", "idp|nomail", None, None, None, 5000)).sqlstate == "28000"
        assert app_conn.execute(_BOUND).fetchone() in {(None, None), ("", "")}
    assert _users(owner_conn) == users


def test_another_users_subject_binds_only_that_user_and_only_their_tenants(
    app_conn: psycopg.Connection, world: World
) -> None:
    """The trust the server already has: it names the verified token's subject. A caller that names someone
    else's subject is that user (as with set_config), never a member of a tenant that user is not in."""
    viewer, owner = world.actor("startup_viewer"), world.actor("other_startup_owner")
    with app_conn.transaction():
        row = app_conn.cursor(row_factory=dict_row).execute(_OPEN, ("", str(viewer.user_id), None, None, None, 5000))
        found = row.fetchone()
        assert found is not None
        assert (found["user_id"], found["tenant_id"], found["role"]) == (viewer.user_id, viewer.tenant_id, "viewer")
        assert _refused(app_conn, ("", str(viewer.user_id), None, None, owner.tenant_slug, 5000)).sqlstate == "RP403"


def test_a_bad_timeout_is_refused(app_conn: psycopg.Connection, world: World) -> None:
    owner = world.actor("startup_owner")
    with app_conn.transaction():
        for timeout in (0, -1, None):
            error = _refused(app_conn, ("", str(owner.user_id), None, None, None, timeout))
            assert error.sqlstate == "22023"
            assert app_conn.execute(_BOUND).fetchone() in {(None, None), ("", "")}


def test_the_function_is_the_owners_pinned_and_not_the_app_roles_to_change(app_conn: psycopg.Connection) -> None:
    row = app_conn.execute(
        "select p.prosecdef, p.proconfig, pg_get_userbyid(p.proowner) = current_user,"
        " has_function_privilege('public', p.oid, 'execute')"
        " from pg_proc p where p.oid = 'app.open_request(text, text, text, text, text, integer)'::regprocedure"
    ).fetchone()
    assert row == (True, ['search_path=""'], False, False)
    app_conn.rollback()
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute(
            "create or replace function app.open_request(a text, b text, c text, d text, e text, f integer)"
            " returns table (user_id uuid, tenant_id uuid, slug text, kind text, role text)"
            " language sql as $$ select null::uuid, null::uuid, null, null, null $$"
        )
    app_conn.rollback()


async def test_the_request_transaction_opens_once_and_then_only_narrows(database: Database, world: World) -> None:
    owner, other = world.actor("startup_owner"), world.actor("other_startup_owner")
    assert owner.user_id is not None
    assert other.user_id is not None
    user = TokenUser("", str(owner.user_id), None, None, owner.tenant_slug)
    async with database.transaction(NOBODY) as tx:
        opened = await onboarding.open_request(tx, user)
        assert opened.tenant is not None
        assert (opened.user.id, opened.tenant.id, opened.role) == (owner.user_id, owner.tenant_id, "owner")
        assert tx.context == DbContext(user_id=owner.user_id, tenant_id=owner.tenant_id)
        bound = (await tx.execute(_PROBE)).one()
        assert tuple(bound)[:3] == (str(owner.user_id), str(owner.tenant_id), "5s")
        assert bound[3] == 1  # the startup's own profile, through the policies
        with pytest.raises(MissingContext):
            await onboarding.open_request(tx, TokenUser("", str(other.user_id), None, None, None))
        with pytest.raises(MissingContext):
            await tx.narrow(DbContext(user_id=other.user_id, tenant_id=other.tenant_id))
        with pytest.raises(MissingContext):
            await tx.narrow(DbContext(user_id=owner.user_id, tenant_id=other.tenant_id))
        assert tuple((await tx.execute(_PROBE)).one())[:2] == (str(owner.user_id), str(owner.tenant_id))
    async with database.transaction(NOBODY) as tx:
        tx.seal()
        with pytest.raises(MissingContext):
            await onboarding.open_request(tx, user)
    async with database.transaction(DbContext(user_id=owner.user_id)) as tx:
        with pytest.raises(MissingContext):  # only a transaction that runs for nobody yet opens as a token's user
            await onboarding.open_request(tx, TokenUser("", str(other.user_id), None, None, None))


async def test_a_refused_opening_leaves_the_transaction_unusable_and_the_connection_clean(
    database: Database, world: World
) -> None:
    owner, other = world.actor("startup_owner"), world.actor("other_startup_owner")
    with pytest.raises(onboarding.NotAMember):
        async with database.transaction(NOBODY) as tx:
            await onboarding.open_request(tx, TokenUser("", str(owner.user_id), None, None, other.tenant_slug))
    assert other.user_id is not None
    async with database.transaction(DbContext(user_id=other.user_id, tenant_id=other.tenant_id)) as tx:
        row = (await tx.execute(_PROBE)).one()
        assert tuple(row)[:2] == (str(other.user_id), str(other.tenant_id))


async def test_a_statement_after_the_transaction_ended_behind_its_back_is_refused(
    database: Database, world: World
) -> None:
    """The driver runs in autocommit mode (BEGIN travels with the first statement): a COMMIT smuggled through
    a statement must not let the next one run outside the request's transaction and context."""
    owner = world.actor("startup_owner")
    assert owner.user_id is not None
    async with database.transaction(DbContext(user_id=owner.user_id, tenant_id=owner.tenant_id)) as tx:
        await tx.execute(text("commit"))
        with pytest.raises(MissingContext):
            await tx.execute(_PROBE)


def _terminate(test_database: TestDatabase, pid: int) -> None:
    with psycopg.connect(test_database.app_url, autocommit=True) as conn:  # the same role may end its backends
        assert conn.execute("select pg_terminate_backend(%s, 5000)", (pid,)).fetchone() == (True,)


async def test_side_transactions_and_rate_limit_leases_survive_a_dropped_connection_without_a_ping(
    test_database: TestDatabase, world: World
) -> None:
    """The side pool does not pre-ping: its first statement on a connection the server dropped is retried."""
    owner = world.actor("startup_owner")
    assert owner.user_id is not None
    context = DbContext(user_id=owner.user_id, tenant_id=owner.tenant_id)
    db = Database(test_database.app_url, pool_size=1)
    try:
        async with db.transaction(context) as tx, tx.aside() as side:
            first = (await side.execute(text("select pg_backend_pid()"))).scalar_one()
        _terminate(test_database, first)
        async with db.transaction(context) as tx, tx.aside() as side:
            row = (await side.execute(_PROBE)).one()
            pid = (await side.execute(text("select pg_backend_pid()"))).scalar_one()
        assert pid != first
        assert tuple(row)[:2] == (str(owner.user_id), str(owner.tenant_id))
        _terminate(test_database, pid)
        await RateLimiter(db, per_minute=60).take(f"test:{uuid.uuid4()}")  # the lease retried on a fresh one
    finally:
        await db.dispose()
