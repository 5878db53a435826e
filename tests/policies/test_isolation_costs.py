"""The cost tables' isolation matrix in SQL, as the app role: for every table, every actor of the world (plus
anonymous) and select / insert / update / delete, exactly the allowed rows are seen or changed, and every
refusal changes nothing (owner-side state of both worlds before and after, the refused statement committed).

Two worlds: the actors come from the first; the second (another operator, its startups) must stay invisible.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import psycopg.errors
import pytest

from tests.plugins.world import ACTORS, ANONYMOUS, Actor, World

pytestmark = pytest.mark.via_pgbouncer  # every test again through PgBouncer (tests/plugins/pgbouncer.py)

ACTOR_NAMES = (*ACTORS, "anonymous")
TABLES = (
    "cloud_accounts",
    "cloud_account_assignments",
    "cost_imports",
    "cost_period_locks",
    "cost_assemblies",
    "cost_report_sources",
)
_ASSEMBLY = (
    "insert into cost_assemblies (tenant_id, manifest_uri, source_name, kind, report, period, assembly_key,"
    " parts_total, created_by) values (%s, '/m.json', 's', 'legacy-cur', %s, '2023-11', 'k', 1, %s)"
)
ACCOUNT_READERS = {  # actor → tenants of the first world whose accounts and history it reads
    **{a: {"startup"} for a in ("startup_owner", "startup_admin", "startup_member", "startup_viewer", "vc_active")},
    "other_startup_owner": {"other_startup"},
    "billing_admin": {"startup", "other_startup"},
}


def _seed(conn: psycopg.Connection, world: World) -> None:
    admin = world.actor("billing_admin")
    with conn.transaction():
        for key in ("startup", "other_startup"):
            conn.execute(
                "insert into cloud_accounts (tenant_id, account_id, name) values (%s, %s, 'seed')",
                (world.tenants[key], f"{key}-{world.suffix}"),
            )
        conn.execute(
            "insert into cost_imports (tenant_id, source_uri, created_by) values (%s, '/seed.csv', %s)",
            (world.tenants["operator"], admin.user_id),
        )
        conn.execute(
            "insert into cost_period_locks (tenant_id, period) values (%s, '2023-01')", (world.tenants["operator"],)
        )
        conn.execute(_ASSEMBLY, (world.tenants["operator"], "seed", admin.user_id))
        conn.execute(
            "insert into cost_report_sources (tenant_id, location, source_name, format, created_by)"
            " values (%s, '/seed', 's', 'legacy-cur', %s)",
            (world.tenants["operator"], admin.user_id),
        )


@pytest.fixture
def worlds(make_world: Callable[[], World], owner_conn: psycopg.Connection) -> tuple[World, World]:
    first, second = make_world(), make_world()
    _seed(owner_conn, first)
    _seed(owner_conn, second)
    return first, second


def _state(owner: psycopg.Connection, worlds: tuple[World, World]) -> dict[str, Any]:
    tenants = [t for w in worlds for t in w.tenants.values()]
    return {
        table: owner.execute(
            f"select count(*), md5(coalesce(string_agg(t::text, ',' order by t::text), ''))"
            f" from {table} t where tenant_id = any(%s)",
            (tenants,),
        ).fetchone()
        for table in TABLES
    }


def _run(conn: psycopg.Connection, actor: Actor, sql: str, params: tuple[Any, ...] = ()) -> int | Exception:
    """Run `sql` as `actor` and commit; the row count, or the error that refused it."""
    try:
        with conn.transaction():
            if actor.user_id is not None:
                conn.execute(
                    "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
                    (str(actor.user_id), str(actor.tenant_id) if actor.tenant_id else ""),
                )
            cursor = conn.execute(sql, params)
            return cursor.rowcount
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.CheckViolation) as error:
        return error


def _actor(world: World, name: str) -> Actor:
    return ANONYMOUS if name == "anonymous" else world.actor(name)


@pytest.mark.parametrize("table", TABLES)
def test_select(table: str, worlds: tuple[World, World], app_conn: psycopg.Connection) -> None:
    first, _ = worlds
    for name in ACTOR_NAMES:
        actor = _actor(first, name)
        seen = _run(app_conn, actor, f"select 1 from {table}")
        if table in ("cloud_accounts", "cloud_account_assignments"):
            expected = len(ACCOUNT_READERS.get(name, set()))
        else:
            expected = 1 if name == "billing_admin" else 0
        assert seen == expected, (table, name, seen)


def _insert(table: str, world: World, actor: Actor, target: World) -> tuple[str, tuple[Any, ...]]:
    operator, startup = target.tenants["operator"], target.tenants["startup"]
    return {
        "cloud_accounts": (
            "insert into cloud_accounts (tenant_id, account_id) values (%s, %s)",
            (startup, f"new-{uuid.uuid4().hex}"),
        ),
        "cloud_account_assignments": (
            "insert into cloud_account_assignments (tenant_id, account_id, valid_from) values (%s, 'x', now())",
            (startup,),
        ),
        "cost_imports": (
            "insert into cost_imports (tenant_id, source_uri, created_by) values (%s, '/x.csv', %s)",
            (operator, actor.user_id),
        ),
        "cost_period_locks": ("insert into cost_period_locks (tenant_id, period) values (%s, '2024-02')", (operator,)),
        "cost_assemblies": (_ASSEMBLY, (operator, "x-new", actor.user_id)),
        "cost_report_sources": (
            "insert into cost_report_sources (tenant_id, location, source_name, format,"
            " created_by) values (%s, '/x-new', 's', 'cur2', %s)",
            (operator, actor.user_id),
        ),
    }[table]


@pytest.mark.parametrize("table", TABLES)
def test_insert(
    table: str, worlds: tuple[World, World], app_conn: psycopg.Connection, owner_conn: psycopg.Connection
) -> None:
    first, second = worlds
    for name in ACTOR_NAMES:
        actor = _actor(first, name)
        for target in (first, second):
            before = _state(owner_conn, worlds)
            sql, params = _insert(table, first, actor, target)
            outcome = _run(app_conn, actor, sql, params)
            allowed = name == "billing_admin" and target is first and table != "cloud_account_assignments"
            if allowed:
                assert outcome == 1, (table, name)
                owner_conn.execute(
                    f"delete from {table} where tenant_id = any(%s) and "
                    + {
                        "cloud_accounts": "account_id like 'new-%%'",
                        "cost_imports": "source_uri = '/x.csv'",
                        "cost_period_locks": "period = '2024-02'",
                        "cost_assemblies": "report = 'x-new'",
                        "cost_report_sources": "location = '/x-new'",
                    }[table],
                    (list(first.tenants.values()),),
                )
                if table == "cloud_accounts":
                    owner_conn.execute("delete from cloud_account_assignments where account_id like 'new-%%'")
            else:
                assert isinstance(outcome, Exception), (table, name, target is first, outcome)
            assert _state(owner_conn, worlds) == before, (table, name)


UPDATES = {
    "cloud_accounts": "update cloud_accounts set name = name || '!'",
    "cloud_account_assignments": "update cloud_account_assignments set valid_to = now()",
    "cost_imports": "update cost_imports set rows = rows + 1",
    "cost_period_locks": "update cost_period_locks set reason = 'changed'",
    "cost_assemblies": "update cost_assemblies set finished_at = now()",
    "cost_report_sources": "update cost_report_sources set last_error = 'changed'",
}


@pytest.mark.parametrize("table", TABLES)
def test_update(
    table: str, worlds: tuple[World, World], app_conn: psycopg.Connection, owner_conn: psycopg.Connection
) -> None:
    first, _ = worlds
    for name in ACTOR_NAMES:
        actor = _actor(first, name)
        before = _state(owner_conn, worlds)
        outcome = _run(app_conn, actor, UPDATES[table])
        if table in ("cloud_account_assignments", "cost_period_locks"):
            assert isinstance(outcome, psycopg.errors.InsufficientPrivilege), (table, name)
        elif name == "billing_admin":
            assert outcome == (2 if table == "cloud_accounts" else 1), (table, name)
            continue  # allowed and committed: the state changed on purpose
        else:
            assert outcome == 0, (table, name)
        assert _state(owner_conn, worlds) == before, (table, name)


def test_billing_admin_cannot_move_an_account_to_another_operators_tenant(
    worlds: tuple[World, World], app_conn: psycopg.Connection, owner_conn: psycopg.Connection
) -> None:
    first, second = worlds
    before = _state(owner_conn, worlds)
    outcome = _run(
        app_conn, first.actor("billing_admin"), "update cloud_accounts set tenant_id = %s", (second.tenants["startup"],)
    )
    assert isinstance(outcome, psycopg.errors.InsufficientPrivilege)
    assert _state(owner_conn, worlds) == before


@pytest.mark.parametrize("table", TABLES)
def test_delete(
    table: str, worlds: tuple[World, World], app_conn: psycopg.Connection, owner_conn: psycopg.Connection
) -> None:
    first, _ = worlds
    for name in ACTOR_NAMES:
        before = _state(owner_conn, worlds)
        outcome = _run(app_conn, _actor(first, name), f"delete from {table}")
        assert isinstance(outcome, psycopg.errors.InsufficientPrivilege), (table, name)
        assert _state(owner_conn, worlds) == before, (table, name)
