"""Through PgBouncer in transaction mode (tests/plugins/pgbouncer.py): many clients over POOL_SIZE server
backends never see each other's context, and the driver's prepared statements are configured so they work."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import httpx
import psycopg
import psycopg.errors
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db.bootstrap import APP_ROLE
from db.errors import DatabaseError
from db.pgbouncer import ADMIN_DATABASE, PgBouncer, PoolConfig, Upstream, free_port, start_pgbouncer
from db.session import Database, DbContext
from schema.app import create_app
from schema.settings import Settings
from tests.plugins.database import TestDatabase, app_password, connect
from tests.plugins.graphql import token_for
from tests.plugins.pgbouncer import ADMIN, MAX_CLIENTS, POOL_SIZE, SCRATCH, SIDE
from tests.plugins.world import Actor, World

_PROBE = text(
    "select pg_backend_pid(), current_setting('app.user_id', true), current_setting('app.tenant_id', true),"
    " (select array_agg(legal_name order by legal_name) from company_profiles)"
)
_OUTSIDE = text("select pg_backend_pid(), current_setting('app.user_id', true), current_setting('app.tenant_id', true)")
# Who reads which company profiles (tests/plugins/world.py): the VC through its grant, the revoked VC nothing.
_SEES = {"startup_owner": "startup", "other_startup_owner": "other_startup", "vc_active": "startup", "vc_revoked": None}
_ME = "{ me { actingTenant { slug } } companies { edges { node { legalName } } } }"
_CLIENT_DATABASES = 6  # processes, say, each with a pool of 4: 24 client connections over POOL_SIZE backends
_ROUNDS = 8  # transactions per task: more than psycopg's default prepare_threshold (5)


def _admin(bouncer: PgBouncer, command: str) -> list[dict[str, object]]:
    with psycopg.connect(bouncer.url(ADMIN, ADMIN_DATABASE, prepare_threshold=None), autocommit=True) as conn:
        cursor = conn.execute(command)
        names = [column.name for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_the_pool_is_transaction_mode_with_few_servers_for_many_clients(pgbouncer: PgBouncer) -> None:
    config = {row["key"]: row["value"] for row in _admin(pgbouncer, "show config")}
    assert (config["pool_mode"], config["default_pool_size"]) == ("transaction", str(POOL_SIZE))
    assert int(str(config["max_client_conn"])) == MAX_CLIENTS


async def test_many_clients_over_two_backends_never_see_each_others_context(
    pgbouncer_app_url: str, world: World
) -> None:
    databases = [Database(pgbouncer_app_url, pool_size=4) for _ in range(_CLIENT_DATABASES)]
    served: dict[int, set[str]] = {}
    problems: list[str] = []

    async def client(db: Database, name: str) -> None:
        actor = world.actor(name)
        assert actor.user_id is not None
        expected = [f"{_SEES[name]} {world.suffix} K.K."] if _SEES[name] else None
        for _ in range(_ROUNDS):
            async with db.transaction(DbContext(actor.user_id, actor.tenant_id)) as tx:
                for _statement in range(2):
                    pid, user, tenant, names = (await tx.execute(_PROBE)).one()
                    served.setdefault(pid, set()).add(name)
                    if (user, tenant, names) != (str(actor.user_id), str(actor.tenant_id), expected):
                        problems.append(f"{name} on backend {pid} saw {user}/{tenant}: {names}")
                    await asyncio.sleep(0)  # another client's transaction may take the other backend meanwhile
            async with db.engine.connect() as conn:
                pid, user, tenant = (await conn.execute(_OUTSIDE)).one()
                await conn.rollback()
            if (user or "", tenant or "") != ("", ""):
                problems.append(f"backend {pid} still held {user}/{tenant} after a transaction ended")

    try:
        await asyncio.gather(*(client(db, name) for db in databases for name in _SEES for _copy in range(4)))
    finally:
        for db in databases:
            await db.dispose()
    assert not problems, "\n".join(problems[:20])
    assert len(served) <= POOL_SIZE, f"PgBouncer used {len(served)} backends, its pool holds {POOL_SIZE}"
    assert any(len(names) > 1 for names in served.values()), "no backend served two actors: nothing was shared"


def test_a_session_level_setting_would_be_seen_by_another_client(pgbouncer: PgBouncer, world: World) -> None:
    """The control: the probe above does detect a context that outlives its transaction (SCRATCH's own pool)."""
    leaked = str(world.actor("startup_owner").user_id)
    url = pgbouncer.url(APP_ROLE, SCRATCH)
    with connect(url, autocommit=True) as writer, connect(url, autocommit=True) as reader:
        writer.execute("select set_config('app.user_id', %s, false)", (leaked,))  # session-level: the mistake
        seen = {reader.execute("select current_setting('app.user_id', true)").fetchone() for _ in range(4)}
    assert (leaked,) in seen


def _repeat(url: str, clients: int, rounds: int) -> None:
    connections = [connect(url, autocommit=True) for _ in range(clients)]
    try:
        for round_ in range(rounds):
            for number, conn in enumerate(connections):  # each execution its own transaction, interleaved
                row = conn.execute("select %s::int + %s::int", (round_, number)).fetchone()
                assert row == (round_ + number,)
    finally:
        for conn in connections:
            conn.close()


def test_statements_run_more_often_than_the_prepare_threshold_work_with_the_configured_url(
    pgbouncer_app_url: str,
) -> None:
    assert "prepare_threshold=none" in pgbouncer_app_url
    _repeat(pgbouncer_app_url, clients=4, rounds=3 * _ROUNDS)


def test_without_the_option_psycopg_prepared_statements_break_under_transaction_pooling(
    pgbouncer: PgBouncer,
) -> None:
    """Why the option exists: psycopg's default prepares on the 5th execution, on whichever backend the
    transaction got; the next client to prepare the same name there, or this one on the other backend, fails."""
    with pytest.raises((psycopg.errors.DuplicatePreparedStatement, psycopg.errors.InvalidSqlStatementName)):
        _repeat(pgbouncer.url(APP_ROLE, SCRATCH, prepare_threshold=None), clients=2, rounds=3 * _ROUNDS)


async def test_the_app_engine_repeats_its_statements_through_pgbouncer(pgbouncer_app_url: str, world: World) -> None:
    """The engine's every transaction begins with the same set_config: far beyond the threshold here."""
    actor = world.actor("startup_owner")
    assert actor.user_id is not None
    db = Database(pgbouncer_app_url, pool_size=4)

    async def requests() -> set[UUID]:
        seen = set()
        for _ in range(3 * _ROUNDS):
            async with db.transaction(DbContext(actor.user_id, actor.tenant_id)) as tx:  # type: ignore[arg-type]
                seen.add(UUID((await tx.execute(text("select current_setting('app.user_id')"))).scalar_one()))
        return seen

    try:
        results = await asyncio.gather(*(requests() for _ in range(8)))
    finally:
        await db.dispose()
    assert set().union(*results) == {actor.user_id}


async def test_the_app_serves_many_requests_through_pgbouncer(
    pgbouncer_app_url: str, settings: Settings, world: World
) -> None:
    """The whole app on the PgBouncer DSN (role check, engine, job connector): each caller sees its own tenant,
    request after request, far beyond the prepare threshold. The VC's reads append audit events in side
    transactions while its request holds a server connection: on the main alias, with POOL_SIZE backends, two
    such requests would wait for each other until PgBouncer's query_wait_timeout; the side alias has its own."""
    url = pgbouncer_app_url
    app = create_app(settings.model_copy(update={"database_url": url}), url)
    callers = [world.actor(name) for name in ("startup_owner", "other_startup_owner", "vc_active")]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

            async def slugs(actor: Actor) -> set[str]:
                headers = {"Authorization": f"Bearer {token_for(actor)}"}
                seen = set()
                for _ in range(2 * _ROUNDS):  # without the option, this fails with DuplicatePreparedStatement
                    response = await client.post("/graphql", json={"query": _ME}, headers=headers)
                    assert response.status_code == 200, response.text
                    assert "errors" not in response.json(), response.text
                    seen.add(response.json()["data"]["me"]["actingTenant"]["slug"])
                return seen

            results = await asyncio.gather(*(slugs(actor) for actor in callers for _copy in range(3)))
    assert results == [{actor.tenant_slug} for actor in callers for _copy in range(3)]


@pytest.fixture
def one_server_bouncer(test_database: TestDatabase) -> Iterator[PgBouncer]:
    """A PgBouncer of its own with ONE server connection per alias, giving up on a wait after 2 s."""
    upstream = Upstream.from_url(test_database.app_url)
    users = {APP_ROLE: app_password(test_database) or secrets.token_urlsafe(18)}
    folder = Path(tempfile.mkdtemp(prefix="rp-pgbouncer-one-"))
    config = PoolConfig(
        upstream, users, free_port(), aliases=(upstream.dbname, SIDE), pool_size=1, extra={"query_wait_timeout": "2"}
    )
    try:
        with start_pgbouncer(config, folder) as bouncer:
            yield bouncer
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("side_database", [None, SIDE])
async def test_a_side_transaction_needs_a_server_pool_of_its_own(
    one_server_bouncer: PgBouncer, world: World, side_database: str | None
) -> None:
    """Why the side alias: the request's transaction holds the server connection its aside would wait for."""
    actor = world.actor("startup_owner")
    assert actor.user_id is not None
    db = Database(one_server_bouncer.url(APP_ROLE, side_database=side_database), pool_size=4)
    try:
        async with db.transaction(DbContext(actor.user_id, actor.tenant_id)) as tx:
            await tx.execute(text("select 1"))
            if side_database is None:
                with pytest.raises((DatabaseError, DBAPIError), match="query_wait_timeout"):  # at its connect
                    async with tx.aside() as side:
                        await side.execute(text("select 1"))
            else:
                async with tx.aside() as side:
                    assert (await side.execute(text("select current_setting('app.user_id')"))).scalar_one() == str(
                        actor.user_id
                    )
    finally:
        await db.dispose()
