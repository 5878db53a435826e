"""The cap-table and fund tables' isolation matrix in SQL, as the app role: for every table and every actor of
the world (plus anonymous), select / insert / update / delete see or change exactly the allowed rows, and every
refusal changes nothing (owner-side row counts before and after, the refused statement committed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from uuid import UUID

import psycopg
import psycopg.errors
import pytest
from psycopg.types.json import Jsonb

from tests.plugins.captable import CAPTABLE_TABLES, counts
from tests.plugins.world import ACTORS, ANONYMOUS, Actor, World, build_world

pytestmark = pytest.mark.via_pgbouncer  # every test again through PgBouncer (tests/plugins/pgbouncer.py)

ACTOR_NAMES = (*ACTORS, "anonymous")
STARTUPS = ("startup", "other_startup")
VCS = ("vc_active", "vc_lacking_scope", "vc_requested", "vc_revoked", "vc_expired")
STARTUP_WRITERS = {"startup_owner", "startup_admin", "startup_member", "other_startup_owner"}
LEDGER_TABLES = ("captable_objects", "stakeholder_links", "captable_snapshots", "captable_holdings")
FUND_TABLES = ("funds", "fund_commitments", "capital_calls", "distributions", "fund_investments")
# the column each UPDATE sets to itself; tables without an update privilege refuse every update
UPDATE_COLUMN = {
    "captable_objects": "payload",
    "stakeholder_links": "vc_tenant_id",
    "captable_snapshots": "as_of",
    "captable_holdings": "ownership",
    "funds": "name",
    "fund_commitments": "amount",
    "capital_calls": "amount",
    "distributions": "amount",
    "fund_investments": "allocation",
}
NO_UPDATE = {"captable_objects", "captable_holdings"}
NO_DELETE = {"captable_objects", "captable_snapshots"}


@dataclass
class Seeded:
    world: World
    funds: dict[str, UUID]


def _seed(conn: psycopg.Connection) -> Seeded:
    world = build_world(conn)
    fund_ids: dict[str, UUID] = {}
    with conn.transaction():
        for key in STARTUPS:
            tenant = world.tenants[key]
            for sid in ("seed-stk", "seed-stk-2"):
                conn.execute(
                    "insert into captable_objects (tenant_id, id, object_type, payload)"
                    " values (%s, %s, 'STAKEHOLDER', %s)",
                    (tenant, sid, Jsonb({"object_type": "STAKEHOLDER", "id": sid})),
                )
            conn.execute(
                "insert into stakeholder_links (tenant_id, stakeholder_id, vc_tenant_id) values (%s, 'seed-stk', %s)",
                (tenant, world.tenants["vc_active"]),
            )
            conn.execute(
                "insert into captable_snapshots (tenant_id, as_of, outstanding, fully_diluted)"
                " values (%s, now(), 1, 1)",
                (tenant,),
            )
            for vc in ("vc_active", "vc_lacking_scope"):
                conn.execute(
                    "insert into captable_holdings (tenant_id, vc_tenant_id, stakeholder_ids, ownership,"
                    " fully_diluted_ownership, invested) values (%s, %s, '{seed-stk}', 0.1, 0.1, 100)",
                    (tenant, world.tenants[vc]),
                )
        for vc in VCS:
            tenant = world.tenants[vc]
            row = conn.execute(
                "insert into funds (tenant_id, name, currency) values (%s, 'Seed Fund', 'USD') returning id", (tenant,)
            ).fetchone()
            assert row is not None
            fund_ids[vc] = row[0]
            conn.execute(
                "insert into fund_commitments (tenant_id, fund_id, limited_partner, amount, committed_on)"
                " values (%s, %s, 'LP', 10, '2024-01-01')",
                (tenant, row[0]),
            )
            for table, column in (("capital_calls", "call_date"), ("distributions", "distribution_date")):
                conn.execute(
                    f"insert into {table} (tenant_id, fund_id, {column}, amount) values (%s, %s, '2024-01-01', 5)",
                    (tenant, row[0]),
                )
            conn.execute(
                "insert into fund_investments (tenant_id, fund_id, company_tenant_id, stakeholder_id)"
                " values (%s, %s, %s, 'seed-stk')",
                (tenant, row[0], world.tenants["startup"]),
            )
    return Seeded(world, fund_ids)


@pytest.fixture
def seeded(owner_conn: psycopg.Connection) -> Seeded:
    return _seed(owner_conn)


def _actor(world: World, name: str) -> Actor:
    return ANONYMOUS if name == "anonymous" else world.actor(name)


def _key_of(world: World, actor: Actor) -> str | None:
    return next((k for k, t in world.tenants.items() if t == actor.tenant_id), None)


@pytest.fixture
def app(app_conn: psycopg.Connection) -> psycopg.Connection:
    return app_conn


def _bind(conn: psycopg.Connection, actor: Actor) -> None:
    if actor.user_id is not None:
        conn.execute(
            "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
            (str(actor.user_id), str(actor.tenant_id) if actor.tenant_id else ""),
        )


# SELECT ---------------------------------------------------------------------------------------------------


def _expected_visible(table: str, name: str, world: World) -> set[tuple[str, str | None]]:
    """(tenant key, vc key or None) of the rows `name` must see, among the seeded ones."""
    key = _key_of(world, _actor(world, name))
    rows: set[tuple[str, str | None]] = set()
    if table in LEDGER_TABLES:
        per_vc = table in ("stakeholder_links", "captable_holdings")
        vcs_of = {"stakeholder_links": ("vc_active",), "captable_holdings": ("vc_active", "vc_lacking_scope")}
        for startup in STARTUPS:
            candidates = [(startup, vc) for vc in vcs_of[table]] if per_vc else [(startup, None)]
            for row in candidates:
                if key == startup or (key == "vc_active" and startup == "startup" and row[1] in (None, "vc_active")):
                    rows.add(row)
    elif key in VCS:
        rows.add((key, None))
    return rows


@pytest.mark.parametrize("table", CAPTABLE_TABLES)
@pytest.mark.parametrize("name", ACTOR_NAMES)
def test_select_shows_exactly_the_allowed_rows(table: str, name: str, seeded: Seeded, app: psycopg.Connection) -> None:
    world = seeded.world
    by_id = {t: k for k, t in world.tenants.items()}
    vc_column = "vc_tenant_id" if table in ("stakeholder_links", "captable_holdings") else "null::uuid"
    with app.transaction(force_rollback=True):
        _bind(app, _actor(world, name))
        rows = app.execute(f"select tenant_id, {vc_column} from {table}").fetchall()
    seen = set()
    for tenant, vc in rows:
        assert tenant in by_id, f"{name} sees a {table} row of a tenant outside this world"
        seen.add((by_id[tenant], by_id.get(vc) if vc else None))
    assert seen == _expected_visible(table, name, world)


# INSERT ---------------------------------------------------------------------------------------------------


def _insert(conn: psycopg.Connection, table: str, tenant: UUID, seeded: Seeded) -> None:
    world = seeded.world
    fund = next((f for k, f in seeded.funds.items() if world.tenants[k] == tenant), seeded.funds["vc_active"])
    statements = {
        "captable_objects": (
            "insert into captable_objects (tenant_id, id, object_type, payload) values (%s, %s, 'STAKEHOLDER', '{}')",
            (tenant, f"new-{uuid.uuid4().hex[:6]}"),
        ),
        "stakeholder_links": (
            "insert into stakeholder_links (tenant_id, stakeholder_id, vc_tenant_id) values (%s, 'seed-stk-2', %s)",
            (tenant, world.tenants["vc_active"]),
        ),
        "captable_snapshots": (
            "insert into captable_snapshots (tenant_id, as_of, outstanding, fully_diluted) values (%s, now(), 2, 2)",
            (tenant,),
        ),
        "captable_holdings": (
            "insert into captable_holdings (tenant_id, vc_tenant_id, stakeholder_ids, ownership,"
            " fully_diluted_ownership, invested) values (%s, %s, '{}', 0, 0, 0)",
            (tenant, world.tenants["vc_requested"]),
        ),
        "funds": ("insert into funds (tenant_id, name, currency) values (%s, 'New Fund', 'USD')", (tenant,)),
        "fund_commitments": (
            "insert into fund_commitments (tenant_id, fund_id, limited_partner, amount, committed_on)"
            " values (%s, %s, 'LP2', 1, '2024-02-01')",
            (tenant, fund),
        ),
        "capital_calls": (
            "insert into capital_calls (tenant_id, fund_id, call_date, amount) values (%s, %s, '2024-02-01', 1)",
            (tenant, fund),
        ),
        "distributions": (
            "insert into distributions (tenant_id, fund_id, distribution_date, amount)"
            " values (%s, %s, '2024-02-01', 1)",
            (tenant, fund),
        ),
        "fund_investments": (
            "insert into fund_investments (tenant_id, fund_id, company_tenant_id, stakeholder_id)"
            " values (%s, %s, %s, 'seed-stk-2')",
            (tenant, fund, world.tenants["startup"]),
        ),
    }
    query, params = statements[table]
    conn.execute(query, params)


def _may_insert_own(table: str, name: str) -> bool:
    if table in LEDGER_TABLES:
        return name in STARTUP_WRITERS
    return name in VCS


def _attempt(app: psycopg.Connection, actor: Actor, statement: callable) -> tuple[bool, int]:  # type: ignore[valid-type]
    """Run `statement` in a transaction: (refused?, rowcount). A refusal is committed (nothing to undo);
    an allowed change is rolled back."""
    tx = app.transaction()
    tx.__enter__()
    try:
        _bind(app, actor)
        cursor = statement()
        affected = cursor.rowcount if cursor is not None else 1
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.IntegrityError) as error:
        tx.__exit__(type(error), error, None)
        return True, 0
    if affected == 0:
        tx.__exit__(None, None, None)
        return True, 0
    tx.__exit__(RuntimeError, RuntimeError("undo"), None)
    return False, affected


@pytest.mark.parametrize("table", CAPTABLE_TABLES)
@pytest.mark.parametrize("name", ACTOR_NAMES)
def test_insert_only_into_the_own_tenant_by_writers(
    table: str, name: str, seeded: Seeded, app: psycopg.Connection, owner_conn: psycopg.Connection
) -> None:
    world = seeded.world
    actor = _actor(world, name)
    own = _key_of(world, actor)
    if table == "captable_snapshots" and own in STARTUPS:
        owner_conn.execute("delete from captable_snapshots where tenant_id = %s", (world.tenants[own],))
    foreign = "other_startup" if own == "startup" else "startup"
    for target, allowed in ((own, _may_insert_own(table, name)), (foreign, False)):
        if target is None:
            continue
        before = counts(owner_conn)
        refused, _ = _attempt(app, actor, lambda t=target: _insert(app, table, world.tenants[t], seeded))
        assert refused is not allowed, (name, table, target)
        if refused:
            assert counts(owner_conn) == before


# UPDATE and DELETE -------------------------------------------------------------------------------------


def _writer_rows(table: str, name: str, world: World) -> set[str]:
    """Tenants whose rows `name` may update or delete."""
    key = _key_of(world, _actor(world, name))
    if table in LEDGER_TABLES:
        return {key} if name in STARTUP_WRITERS and key else set()
    return {key} if key in VCS else set()


@pytest.mark.parametrize("verb", ["update", "delete"])
@pytest.mark.parametrize("table", CAPTABLE_TABLES)
@pytest.mark.parametrize("name", ACTOR_NAMES)
def test_update_and_delete_touch_only_own_rows(
    verb: str, table: str, name: str, seeded: Seeded, app: psycopg.Connection, owner_conn: psycopg.Connection
) -> None:
    world = seeded.world
    actor = _actor(world, name)
    forbidden_verb = table in (NO_UPDATE if verb == "update" else NO_DELETE)
    allowed = set() if forbidden_verb else _writer_rows(table, name, world)
    for key in (*STARTUPS, *VCS):
        tenant = world.tenants[key]
        column = UPDATE_COLUMN[table]
        query = (
            f"update {table} set {column} = {column} where tenant_id = %s"
            if verb == "update"
            else f"delete from {table} where tenant_id = %s"
        )
        before = counts(owner_conn)
        refused, affected = _attempt(app, actor, lambda q=query, t=tenant: app.execute(q, (t,)))
        seeded_rows = owner_conn.execute(f"select count(*) from {table} where tenant_id = %s", (tenant,)).fetchone()
        assert seeded_rows is not None
        if key in allowed and seeded_rows[0]:
            assert not refused, (name, table, key)
            assert affected == seeded_rows[0], (name, table, key)
        else:
            assert refused, (name, table, key, verb)
            assert counts(owner_conn) == before
