"""Citus readiness, verified on plain PostgreSQL: the migrated catalog keeps the rules of db.distribution_rules,
and the check reports a table that breaks them (a throw-away table, created as the owner and rolled back)."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import psycopg
import psycopg.errors
import pytest

from db.distribution import LOCAL_TABLES, REFERENCE_TABLES, Placement, citus_plan, placement_of
from db.distribution_catalog import read_catalog
from db.distribution_rules import Violation, violations
from tests.plugins.world import World


@pytest.fixture
def scratch(owner_conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """The owner inside a transaction that is always rolled back: what a test creates there never lands."""
    with owner_conn.transaction(force_rollback=True):
        yield owner_conn


def _found(conn: psycopg.Connection) -> set[tuple[str, str | None]]:
    return {(v.table, v.constraint) for v in violations(read_catalog(conn))}


def test_the_migrated_schema_can_be_distributed_by_tenant_id(owner_conn: psycopg.Connection) -> None:
    catalog = read_catalog(owner_conn)
    assert {"public.invoices", "public.operator_keys"} <= set(catalog.tables)
    assert [str(v) for v in violations(catalog)] == []


def test_every_table_is_in_exactly_one_class(owner_conn: psycopg.Connection) -> None:
    catalog = read_catalog(owner_conn)
    assert set(REFERENCE_TABLES).isdisjoint(LOCAL_TABLES)
    assert set(REFERENCE_TABLES) | set(LOCAL_TABLES) <= set(catalog.tables)
    classes = {t: placement_of(t) for t in catalog.tables}
    assert classes["public.tenants"] is Placement.REFERENCE
    assert classes["public.procrastinate_jobs"] is Placement.LOCAL
    assert classes["public.invoices"] is Placement.DISTRIBUTED
    # every table has exactly one create_* call, local tables none
    plan = "\n".join(citus_plan(catalog))
    for table, placement in classes.items():
        assert plan.count(f"('{table}'") == (0 if placement is Placement.LOCAL else 1), table


def test_a_new_table_without_tenant_id_is_reported(scratch: psycopg.Connection) -> None:
    scratch.execute("create table citus_probe (id uuid primary key, name text)")
    assert ("public.citus_probe", None) in _found(scratch)
    assert ("public.citus_probe", "citus_probe_pkey") in _found(scratch)


def test_a_primary_key_or_unique_index_without_tenant_id_is_reported(scratch: psycopg.Connection) -> None:
    scratch.execute(
        "create table citus_probe (tenant_id uuid not null references tenants (id), id uuid primary key,"
        " account text, unique (tenant_id, account))"
    )
    scratch.execute("create unique index citus_probe_account_idx on citus_probe (account) where account <> ''")
    scratch.execute("create unique index citus_probe_expr_idx on citus_probe ((tenant_id::text))")
    found = {c for t, c in _found(scratch) if t == "public.citus_probe"}
    assert found == {"citus_probe_pkey", "citus_probe_account_idx", "citus_probe_expr_idx"}


def test_a_unique_index_on_an_existing_table_is_reported(scratch: psycopg.Connection) -> None:
    # the rule the 0018 migration moved to operator_keys: it would come back as an index on invoices
    scratch.execute("create unique index invoices_operator_number_probe on invoices (operator_id, number)")
    assert _found(scratch) == {("public.invoices", "invoices_operator_number_probe")}


def test_a_foreign_key_across_tenants_is_reported(scratch: psycopg.Connection) -> None:
    scratch.execute(
        "create table citus_probe (tenant_id uuid not null, invoice_tenant_id uuid not null, invoice_id uuid not null,"
        " primary key (tenant_id, invoice_id),"
        " constraint citus_probe_invoice foreign key (invoice_tenant_id, invoice_id)"
        " references invoices (tenant_id, id))"
    )
    assert _found(scratch) == {("public.citus_probe", "citus_probe_invoice")}


def test_a_reference_table_referencing_a_distributed_one_is_reported(scratch: psycopg.Connection) -> None:
    scratch.execute(
        "alter table memberships add constraint memberships_profile_probe"
        " foreign key (tenant_id) references company_profiles (tenant_id) not valid"  # rows other tests left
    )
    assert _found(scratch) == {("public.memberships", "memberships_profile_probe")}


def test_a_distribution_column_that_is_nullable_or_not_uuid_is_reported(scratch: psycopg.Connection) -> None:
    scratch.execute("create table citus_probe (tenant_id text not null primary key)")
    scratch.execute("create table citus_probe_3 (tenant_id uuid)")
    assert {t for t, c in _found(scratch) if c is None} == {"public.citus_probe", "public.citus_probe_3"}


def test_the_classes_must_name_existing_tables_once(owner_conn: psycopg.Connection) -> None:
    catalog = read_catalog(owner_conn)
    found = violations(catalog, reference=(*REFERENCE_TABLES, "public.gone"), local=(*LOCAL_TABLES, "public.users"))
    assert {str(v) for v in found} == {
        str(Violation("public.gone", None, "named as a reference or local table but no such table exists")),
        str(Violation("public.users", None, "named 2 times among the reference and local tables")),
    }


def test_the_plan_distributes_referenced_tables_first(owner_conn: psycopg.Connection) -> None:
    plan = citus_plan(read_catalog(owner_conn))
    position = {s.split("'")[1]: i for i, s in enumerate(plan)}
    assert plan[0] == "select create_reference_table('public.tenants');"
    assert position["public.memberships"] > position["public.users"]
    assert position["public.invoice_lines"] > position["public.invoices"] > position["public.pricing_plans"]
    first = next(s for s in plan if "create_distributed_table" in s)
    assert first.endswith("colocate_with => 'none');")
    anchor = first.split("'")[1]
    assert all(
        s.endswith(f"colocate_with => '{anchor}');") for s in plan if "create_distributed_table" in s and s != first
    )


# -- the cross-tenant rules 0018 moved to operator_keys keep holding ------------------------------------------


def _as_billing_admin(conn: psycopg.Connection, world: World) -> None:
    admin = world.actor("billing_admin")
    conn.execute(
        "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
        (str(admin.user_id), str(admin.tenant_id)),
    )


def _as_billing_admin_run(conn: psycopg.Connection, world: World, statement: str, params: tuple[UUID, ...]) -> None:
    with conn.transaction():
        _as_billing_admin(conn, world)
        conn.execute(statement, params)


def _keys(owner: psycopg.Connection, world: World) -> list[tuple[str, str, UUID]]:
    rows = owner.execute(
        "select kind, key, customer_tenant_id from operator_keys where tenant_id = %s order by 1, 2",
        (world.tenants["operator"],),
    ).fetchall()
    return [(k, v, c) for k, v, c in rows]


def test_an_account_id_stays_unique_across_the_operators_customers(
    world: World, app_conn: psycopg.Connection, owner_conn: psycopg.Connection
) -> None:
    startup, other = world.tenants["startup"], world.tenants["other_startup"]
    with app_conn.transaction():
        _as_billing_admin(app_conn, world)
        app_conn.execute("insert into cloud_accounts (tenant_id, account_id) values (%s, '424242424242')", (startup,))
    before = owner_conn.execute("select tenant_id from cloud_accounts where account_id = '424242424242'").fetchall()
    with pytest.raises(psycopg.errors.UniqueViolation, match="cloud account 424242424242 is already taken"):
        _as_billing_admin_run(
            app_conn, world, "insert into cloud_accounts (tenant_id, account_id) values (%s, '424242424242')", (other,)
        )
    assert (
        owner_conn.execute("select tenant_id from cloud_accounts where account_id = '424242424242'").fetchall()
        == before
        == [(startup,)]
    )
    assert ("cloud_account", "424242424242", startup) in _keys(owner_conn, world)
    # a move keeps one holder: the key follows the account, the history has one open interval
    with app_conn.transaction():
        _as_billing_admin(app_conn, world)
        app_conn.execute("update cloud_accounts set tenant_id = %s where account_id = '424242424242'", (other,))
    assert ("cloud_account", "424242424242", other) in _keys(owner_conn, world)
    open_rows = owner_conn.execute(
        "select tenant_id from cloud_account_assignments where account_id = '424242424242' and valid_to is null"
    ).fetchall()
    assert open_rows == [(other,)]


def test_an_idempotency_key_and_an_invoice_number_are_claimed_once_per_operator(
    world: World, app_conn: psycopg.Connection, owner_conn: psycopg.Connection
) -> None:
    op, startup, other = world.tenants["operator"], world.tenants["startup"], world.tenants["other_startup"]
    insert = (
        "insert into invoices (tenant_id, operator_id, period, currency, subtotal, tax, total, idempotency_key)"
        " values (%s, %s, '2026-10', 'USD', 0, 0, 0, 'run-1') returning id"
    )
    with app_conn.transaction():
        _as_billing_admin(app_conn, world)
        row = app_conn.execute(insert, (startup, op)).fetchone()
        assert row is not None
        app_conn.execute("update invoices set status = 'closed' where id = %s", (row[0],))
    keys = _keys(owner_conn, world)
    assert {("idempotency_key", "run-1", startup), ("invoice_number", "1", startup)} <= set(keys)
    invoices_before = owner_conn.execute("select count(*) from invoices where operator_id = %s", (op,)).fetchone()
    with pytest.raises(psycopg.errors.UniqueViolation, match="idempotency key run-1 is already taken"):
        _as_billing_admin_run(app_conn, world, insert, (other, op))
    assert owner_conn.execute("select count(*) from invoices where operator_id = %s", (op,)).fetchone() == (
        invoices_before
    )
    assert _keys(owner_conn, world) == keys
    # a deleted draft releases its key
    with app_conn.transaction():
        _as_billing_admin(app_conn, world)
        draft = app_conn.execute(insert.replace("run-1", "run-2"), (other, op)).fetchone()
        assert draft is not None
        app_conn.execute("delete from invoices where id = %s", (draft[0],))
    assert _keys(owner_conn, world) == keys
