"""Migration 0020: at most one live (queued, publishing, succeeded) assembly per delivery, checked at commit;
a delivery queued more than once before it keeps one live assembly."""

from __future__ import annotations

import psycopg
import psycopg.errors
import pytest

from policies.sql_files import policy_sql
from tests.plugins.world import Actor, World, acting_as

CONSTRAINT = "cost_assemblies_one_live_delivery"
INSERT = (
    "insert into cost_assemblies (tenant_id, manifest_uri, source_name, kind, report, period, assembly_key,"
    " parts_total, created_by) values (%s, '/r/report-Manifest.json', 'reports', 'legacy-cur', 'report',"
    " '2023-11', %s, 2, %s) returning id"
)


def _insert(conn: psycopg.Connection, admin: Actor, key: str = "a1") -> object:
    row = conn.execute(INSERT, (admin.tenant_id, key, admin.user_id)).fetchone()
    assert row is not None
    return row[0]


def _count(owner_conn: psycopg.Connection, world: World) -> int:
    row = owner_conn.execute(
        "select count(*) from cost_assemblies where tenant_id = %s", (world.tenants["operator"],)
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_second_live_assembly_of_a_delivery_is_refused_at_commit(
    app_conn: psycopg.Connection, owner_conn: psycopg.Connection, world: World
) -> None:
    admin = world.actor("billing_admin")
    with acting_as(app_conn, admin):
        _insert(app_conn, admin)
        _insert(app_conn, admin, "another delivery")
        _insert(app_conn, admin)  # deferred: accepted until the commit checks it
        with pytest.raises(psycopg.errors.ExclusionViolation) as refused:
            app_conn.execute(f"set constraints {CONSTRAINT} immediate")  # what the commit does
        assert refused.value.diag.constraint_name == CONSTRAINT
    assert _count(owner_conn, world) == 0


def test_a_repeated_delivery_marked_duplicate_in_its_transaction_commits(
    app_conn: psycopg.Connection, owner_conn: psycopg.Connection, world: World
) -> None:
    admin = world.actor("billing_admin")
    with app_conn.transaction():
        app_conn.execute(
            "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
            (str(admin.user_id), str(admin.tenant_id)),
        )
        _insert(app_conn, admin)
        again = _insert(app_conn, admin)  # what queue_assembly does with a delivery it finds live
        app_conn.execute("update cost_assemblies set status = 'duplicate', finished_at = now() where id = %s", (again,))
        _insert(app_conn, admin, "a2")
    rows = owner_conn.execute(
        "select assembly_key, status from cost_assemblies where tenant_id = %s order by assembly_key, status",
        (world.tenants["operator"],),
    ).fetchall()
    assert rows == [("a1", "duplicate"), ("a1", "queued"), ("a2", "queued")]


def test_the_migration_keeps_the_published_assembly_of_a_delivery_queued_twice(
    owner_conn: psycopg.Connection, world: World
) -> None:
    admin = world.actor("billing_admin")
    with owner_conn.transaction(force_rollback=True):
        owner_conn.execute(f"alter table cost_assemblies drop constraint {CONSTRAINT}")  # the state before 0020
        queued, first, last, other = (_insert(owner_conn, admin, k) for k in ("a1", "a1", "a1", "a2"))
        for assembly, finished in ((first, "2024-01-01"), (last, "2024-01-02")):
            owner_conn.execute(
                "update cost_assemblies set status = 'succeeded', finished_at = %s where id = %s", (finished, assembly)
            )
        owner_conn.execute(policy_sql("0020_one_live_assembly_per_delivery.sql"))
        statuses: dict[object, str] = dict(
            owner_conn.execute(
                "select id, status from cost_assemblies where tenant_id = %s", (admin.tenant_id,)
            ).fetchall()
        )
        assert statuses == {queued: "superseded", first: "superseded", last: "succeeded", other: "queued"}
