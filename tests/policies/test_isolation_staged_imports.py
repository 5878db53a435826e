"""The staged-import tables' isolation matrix in SQL, as the app role: for every actor of the world (plus
anonymous), select / insert / update / delete see or change exactly the allowed rows (the startup's own writers
only; no grantee, no viewer), every refusal changes nothing (owner snapshots before and after, the statement
committed), and an expired or committed draft is read-only for everyone."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.plugins.world import ACTORS, ANONYMOUS, Actor, World, build_world

pytestmark = pytest.mark.via_pgbouncer  # every test again through PgBouncer (tests/plugins/pgbouncer.py)

ACTOR_NAMES = (*ACTORS, "anonymous")
STARTUPS = ("startup", "other_startup")
WRITERS = {
    "startup_owner": "startup",
    "startup_admin": "startup",
    "startup_member": "startup",
    "other_startup_owner": "other_startup",
}
TABLES = ("staged_imports", "staged_import_items")


def _seed(conn: psycopg.Connection) -> tuple[World, dict[str, UUID]]:
    world = build_world(conn)
    drafts: dict[str, UUID] = {}
    with conn.transaction():
        for key in STARTUPS:
            row = conn.execute(
                "insert into staged_imports (tenant_id, format) values (%s, 'OCF') returning id", (world.tenants[key],)
            ).fetchone()
            assert row is not None
            drafts[key] = row[0]
            conn.execute(
                "insert into staged_import_items (tenant_id, import_id, position, file_type, item)"
                " values (%s, %s, 0, 'OCF_STAKEHOLDERS_FILE', %s)",
                (world.tenants[key], row[0], Jsonb({"object_type": "STAKEHOLDER", "id": "s1"})),
            )
    return world, drafts


@pytest.fixture
def seeded(owner_conn: psycopg.Connection) -> tuple[World, dict[str, UUID]]:
    return _seed(owner_conn)


def _actor(world: World, name: str) -> Actor:
    return ANONYMOUS if name == "anonymous" else world.actor(name)


def _snapshot(owner: psycopg.Connection, world: World) -> dict[str, list[Any]]:
    tenants = [world.tenants[k] for k in STARTUPS]
    return {
        "staged_imports": owner.execute(
            "select tenant_id, id, status, expires_at, committed_at from staged_imports where tenant_id = any(%s)"
            " order by tenant_id, id",
            (tenants,),
        ).fetchall(),
        "staged_import_items": owner.execute(
            "select tenant_id, import_id, position, item, dropped from staged_import_items where tenant_id = any(%s)"
            " order by tenant_id, import_id, position",
            (tenants,),
        ).fetchall(),
    }


def _run(app: psycopg.Connection, actor: Actor, sql: str, params: tuple[Any, ...]) -> int:
    """Run and commit as `actor`; the rows changed, or -1 when refused."""
    try:
        with app.transaction():
            if actor.user_id is not None:
                app.execute(
                    "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
                    (str(actor.user_id), str(actor.tenant_id) if actor.tenant_id else ""),
                )
            return app.execute(sql, params).rowcount
    except psycopg.Error:
        return -1


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("name", ACTOR_NAMES)
def test_select_shows_only_the_writers_own_drafts(
    table: str, name: str, seeded: tuple[World, dict[str, UUID]], app_conn: psycopg.Connection
) -> None:
    world, _ = seeded
    by_id = {t: k for k, t in world.tenants.items()}
    actor = _actor(world, name)
    with app_conn.transaction(force_rollback=True):
        if actor.user_id is not None:
            app_conn.execute(
                "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
                (str(actor.user_id), str(actor.tenant_id) if actor.tenant_id else ""),
            )
        seen = {by_id.get(r[0], "foreign") for r in app_conn.execute(f"select tenant_id from {table}").fetchall()}
    assert seen == ({WRITERS[name]} if name in WRITERS else set())


@pytest.mark.parametrize("name", ACTOR_NAMES)
def test_insert_only_by_a_startup_writer_into_its_own_tenant(
    name: str, seeded: tuple[World, dict[str, UUID]], app_conn: psycopg.Connection, owner_conn: psycopg.Connection
) -> None:
    world, drafts = seeded
    actor = _actor(world, name)
    for key in STARTUPS:
        before = _snapshot(owner_conn, world)
        draft = _run(
            app_conn, actor, "insert into staged_imports (tenant_id, format) values (%s, 'JOCF')", (world.tenants[key],)
        )
        item = _run(
            app_conn,
            actor,
            "insert into staged_import_items (tenant_id, import_id, position, file_type, item)"
            " values (%s, %s, 9, 'OCF_STAKEHOLDERS_FILE', '{}')",
            (world.tenants[key], drafts[key]),
        )
        allowed = WRITERS.get(name) == key
        assert (draft, item) == ((1, 1) if allowed else (-1, -1))
        if not allowed:
            assert _snapshot(owner_conn, world) == before


@pytest.mark.parametrize("name", ACTOR_NAMES)
def test_update_and_delete_only_by_the_writers_own_tenant(
    name: str, seeded: tuple[World, dict[str, UUID]], app_conn: psycopg.Connection, owner_conn: psycopg.Connection
) -> None:
    world, drafts = seeded
    actor = _actor(world, name)
    for key in STARTUPS:
        allowed = WRITERS.get(name) == key
        before = _snapshot(owner_conn, world)
        fixed = _run(
            app_conn, actor, "update staged_import_items set dropped = true where import_id = %s", (drafts[key],)
        )
        assert fixed == (1 if allowed else 0) or (not allowed and fixed == -1)
        if not allowed:
            assert _snapshot(owner_conn, world) == before
        removed = _run(app_conn, actor, "delete from staged_import_items where import_id = %s", (drafts[key],))
        assert removed == -1  # items are never deleted (drop is a flag); a discarded draft cascades
        stretched = _run(
            app_conn,
            actor,
            "update staged_imports set expires_at = now() + interval '1 year' where id = %s",
            (drafts[key],),
        )
        assert stretched == -1  # the expiry is the database's: no role may set it
        if not allowed:
            assert _snapshot(owner_conn, world) == before


def _expire(owner: psycopg.Connection, draft: UUID) -> None:
    with owner.transaction():
        owner.execute("alter table staged_imports disable trigger staged_imports_lifecycle")
        owner.execute("update staged_imports set expires_at = now() - interval '1 second' where id = %s", (draft,))
        owner.execute("alter table staged_imports enable trigger staged_imports_lifecycle")


def test_an_expired_or_committed_draft_is_read_only(
    seeded: tuple[World, dict[str, UUID]], app_conn: psycopg.Connection, owner_conn: psycopg.Connection
) -> None:
    world, drafts = seeded
    owner = world.actor("startup_owner")
    committed = _run(
        app_conn, owner, "update staged_imports set status = 'committed' where id = %s", (drafts["startup"],)
    )
    assert committed == 1
    for draft, prepare in ((drafts["startup"], None), (drafts["other_startup"], _expire)):
        writer = owner if draft == drafts["startup"] else world.actor("other_startup_owner")
        if prepare is not None:
            prepare(owner_conn, draft)
        before = _snapshot(owner_conn, world)
        assert (
            _run(app_conn, writer, "update staged_import_items set dropped = true where import_id = %s", (draft,)) == 0
        )
        assert (
            _run(
                app_conn,
                writer,
                "insert into staged_import_items (tenant_id, import_id, position, file_type,"
                " item) select tenant_id, id, 5, 'OCF_STAKEHOLDERS_FILE', '{}' from staged_imports where id = %s",
                (draft,),
            )
            == -1
        )
        assert _run(app_conn, writer, "update staged_imports set status = 'committed' where id = %s", (draft,)) == -1
        assert _snapshot(owner_conn, world) == before
