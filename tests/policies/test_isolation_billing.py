"""The isolation matrix of the billing tables, in SQL as the app role, plus the invoice triggers.

Every new table × every world actor (and anonymous) × select/insert/update/delete. Reads: exactly the allowed
rows. Writes: the allowed actor changes the expected rows; everyone else either fails or changes nothing —
a statement that did not fail is committed, and the owner's snapshot of the table is the same afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
import psycopg.errors
import pytest

from tests.plugins.world import ACTORS, ANONYMOUS, Actor, World

pytestmark = pytest.mark.via_pgbouncer  # every test again through PgBouncer (tests/plugins/pgbouncer.py)

ACTOR_NAMES = (*ACTORS, "anonymous")
STARTUP_STAFF = {"startup_owner", "startup_admin", "startup_member", "startup_viewer"}
ADMIN = {"billing_admin"}
OPERATOR_TABLES = (
    "pricing_plans",
    "pricing_plan_versions",
    "exchange_rates",
    "cost_categories",
    "billing_issuers",
    "invoice_counters",
    "invoice_runs",
    "tax_rates",
    "operator_keys",
)
ALL_TABLES = (*OPERATOR_TABLES, "customer_billing", "custom_line_items", "invoices", "invoice_lines")


@dataclass
class Seed:
    world: World
    plan: UUID
    closed: UUID
    draft: UUID


def _one(conn: psycopg.Connection, sql: str, params: tuple[Any, ...]) -> Any:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


def seed_billing(conn: psycopg.Connection, world: World) -> Seed:
    op, startup = world.tenants["operator"], world.tenants["startup"]
    admin = world.actor("billing_admin").user_id
    with conn.transaction():
        plan = _one(conn, "insert into pricing_plans (tenant_id, name) values (%s, 'P') returning id", (op,))
        conn.execute(
            "insert into pricing_plan_versions (tenant_id, plan_id, version, valid_from, definition)"
            " values (%s, %s, 1, '2026-01', '{}')",
            (op, plan),
        )
        conn.execute(
            "insert into exchange_rates (tenant_id, period, currency, rate) values (%s, '2026-10', 'EUR', 0.9)", (op,)
        )
        conn.execute("insert into cost_categories (tenant_id, name, definition) values (%s, 'C', '{}')", (op,))
        conn.execute(
            "insert into tax_rates (tenant_id, category, valid_from, rate_percent, name)"
            " values (%s, 'standard', '2019-10', 10, '消費税')",
            (op,),
        )
        conn.execute("insert into billing_issuers (tenant_id, legal_name) values (%s, 'Operator Ltd')", (op,))
        conn.execute("insert into invoice_runs (tenant_id, period, created_by) values (%s, '2026-10', %s)", (op, admin))
        conn.execute(
            "insert into customer_billing (tenant_id, operator_id, plan_id) values (%s, %s, %s)", (startup, op, plan)
        )
        conn.execute(
            "insert into custom_line_items (tenant_id, operator_id, description, kind, amount_type, value,"
            " period) values (%s, %s, 'fee', 'FEE', 'FLAT', 10, '2026-10')",
            (startup, op),
        )
        closed = _one(
            conn,
            "insert into invoices (tenant_id, operator_id, period, currency, subtotal, tax, total)"
            " values (%s, %s, '2026-10', 'USD', 10, 1, 11) returning id",
            (startup, op),
        )
        conn.execute(
            "insert into invoice_lines (tenant_id, invoice_id, position, kind, description, amount) values"
            " (%s, %s, 0, 'USAGE', 'EC2', 10), (%s, %s, 1, 'TAX', 'Tax', 1)",
            (startup, closed, startup, closed),
        )
        conn.execute("update invoices set status = 'closed' where id = %s", (closed,))
        draft = _one(
            conn,
            "insert into invoices (tenant_id, operator_id, period, currency, subtotal, tax, total)"
            " values (%s, %s, '2026-09', 'USD', 0, 0, 0) returning id",
            (startup, op),
        )
    return Seed(world, plan, closed, draft)


@pytest.fixture
def seed(world: World, owner_conn: psycopg.Connection) -> Seed:
    return seed_billing(owner_conn, world)


def visible(table: str, actor: str) -> int:
    if table in OPERATOR_TABLES or table in ("customer_billing", "custom_line_items"):
        return 1 if actor in ADMIN else 0
    if table == "invoices":
        return 2 if actor in ADMIN else 1 if actor in STARTUP_STAFF | {"vc_active"} else 0
    # invoice_lines: the two lines of the closed invoice
    return 2 if actor in ADMIN | STARTUP_STAFF | {"vc_active"} else 0


# statement, and the actors for whom it changes rows (others: refused or no row)
WRITES: dict[str, dict[str, tuple[str, set[str]]]] = {
    "pricing_plans": {
        "insert": ("insert into pricing_plans (tenant_id, name) values (%(op)s, 'Q')", ADMIN),
        "update": ("update pricing_plans set name = 'R' where tenant_id = %(op)s", ADMIN),
        "delete": ("delete from pricing_plans where tenant_id = %(op)s and name = 'nothing'", set()),
    },
    "pricing_plan_versions": {
        "insert": (
            "insert into pricing_plan_versions (tenant_id, plan_id, version, valid_from, definition)"
            " values (%(op)s, %(plan)s, 2, '2026-05', '{}')",
            ADMIN,
        ),
        "update": ("update pricing_plan_versions set definition = '{\"x\": 1}' where tenant_id = %(op)s", set()),
        "delete": ("delete from pricing_plan_versions where tenant_id = %(op)s", set()),
    },
    "exchange_rates": {
        "insert": (
            "insert into exchange_rates (tenant_id, period, currency, rate) values (%(op)s, '2026-10', 'JPY', 150)",
            ADMIN,
        ),
        "update": ("update exchange_rates set rate = 0.8 where tenant_id = %(op)s", ADMIN),
        "delete": ("delete from exchange_rates where tenant_id = %(op)s", ADMIN),
    },
    "tax_rates": {
        "insert": (
            "insert into tax_rates (tenant_id, category, valid_from, rate_percent, name)"
            " values (%(op)s, 'reduced', '2019-10', 8, 'x')",
            ADMIN,
        ),
        "update": ("update tax_rates set rate_percent = 12 where tenant_id = %(op)s", ADMIN),
        "delete": ("delete from tax_rates where tenant_id = %(op)s", ADMIN),
    },
    "cost_categories": {
        "insert": ("insert into cost_categories (tenant_id, name, definition) values (%(op)s, 'D', '{}')", ADMIN),
        "update": ("update cost_categories set definition = '{\"rules\": []}' where tenant_id = %(op)s", ADMIN),
        "delete": ("delete from cost_categories where tenant_id = %(op)s", ADMIN),
    },
    "billing_issuers": {
        "insert": ("insert into billing_issuers (tenant_id, legal_name) values (%(startup)s, 'Forged')", set()),
        "update": ("update billing_issuers set address = 'Elsewhere' where tenant_id = %(op)s", ADMIN),
        "delete": ("delete from billing_issuers where tenant_id = %(op)s", set()),
    },
    "invoice_counters": {
        "insert": ("insert into invoice_counters (tenant_id, next_number) values (%(startup)s, 1)", set()),
        "update": ("update invoice_counters set next_number = next_number + 1 where tenant_id = %(op)s", set()),
        "delete": ("delete from invoice_counters where tenant_id = %(op)s", set()),
    },
    "operator_keys": {
        "insert": (
            "insert into operator_keys (tenant_id, kind, key, customer_tenant_id)"
            " values (%(op)s, 'invoice_number', '99', %(startup)s)",
            set(),
        ),
        "update": ("update operator_keys set customer_tenant_id = %(other)s where tenant_id = %(op)s", set()),
        "delete": ("delete from operator_keys where tenant_id = %(op)s", set()),
    },
    "invoice_runs": {
        "insert": (
            "insert into invoice_runs (tenant_id, period, created_by) values (%(op)s, '2026-11', %(user)s)",
            ADMIN,
        ),
        "update": ("update invoice_runs set closed = 1 where tenant_id = %(op)s", ADMIN),
        "delete": ("delete from invoice_runs where tenant_id = %(op)s", set()),
    },
    "customer_billing": {
        "insert": ("insert into customer_billing (tenant_id, operator_id) values (%(other)s, %(op)s)", ADMIN),
        "update": ("update customer_billing set tax_rate_percent = 5 where tenant_id = %(startup)s", ADMIN),
        "delete": ("delete from customer_billing where tenant_id = %(startup)s", set()),
    },
    "custom_line_items": {
        "insert": (
            "insert into custom_line_items (tenant_id, operator_id, description, kind, amount_type, value,"
            " period) values (%(startup)s, %(op)s, 'credit', 'CREDIT', 'FLAT', 5, '2026-10')",
            ADMIN,
        ),
        "update": ("update custom_line_items set value = 1 where tenant_id = %(startup)s", set()),
        "delete": ("delete from custom_line_items where tenant_id = %(startup)s", ADMIN),
    },
    "invoices": {
        "insert": (
            "insert into invoices (tenant_id, operator_id, period, currency, subtotal, tax, total)"
            " values (%(startup)s, %(op)s, '2026-08', 'USD', 0, 0, 0)",
            ADMIN,
        ),
        "update": ("update invoices set status = 'draft' where id = %(draft)s", ADMIN),
        "delete": ("delete from invoices where id = %(draft)s", ADMIN),
    },
    "invoice_lines": {
        "insert": (
            "insert into invoice_lines (tenant_id, invoice_id, position, kind, description, amount)"
            " values (%(startup)s, %(draft)s, 0, 'FEE', 'x', 0)",
            ADMIN,
        ),
        "update": ("update invoice_lines set amount = 0 where invoice_id = %(closed)s", set()),
        "delete": ("delete from invoice_lines where invoice_id = %(draft)s", set()),
    },
}


def _params(seed: Seed, actor: Actor) -> dict[str, Any]:
    w = seed.world
    return {
        "op": w.tenants["operator"],
        "startup": w.tenants["startup"],
        "other": w.tenants["other_startup"],
        "plan": seed.plan,
        "closed": seed.closed,
        "draft": seed.draft,
        "user": actor.user_id,
        "tenants": list(w.tenants.values()),
    }


def _snapshot(owner: psycopg.Connection, table: str, seed: Seed) -> list[Any]:
    rows = owner.execute(
        f"select to_jsonb(t) from {table} t where tenant_id = any(%s)", (list(seed.world.tenants.values()),)
    ).fetchall()
    return sorted(str(r[0]) for r in rows)


def _bind(conn: psycopg.Connection, actor: Actor) -> None:
    if actor.user_id is not None:
        conn.execute(
            "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
            (str(actor.user_id), str(actor.tenant_id) if actor.tenant_id else ""),
        )


@pytest.mark.parametrize("table", ALL_TABLES)
def test_billing_isolation_matrix(
    table: str, seed: Seed, app_conn: psycopg.Connection, owner_conn: psycopg.Connection
) -> None:
    world = seed.world
    for name in ACTOR_NAMES:
        actor = ANONYMOUS if name == "anonymous" else world.actor(name)
        params = _params(seed, actor)
        with app_conn.transaction(force_rollback=True):
            _bind(app_conn, actor)
            count = _one(app_conn, f"select count(*) from {table} where tenant_id = any(%(tenants)s)", params)  # type: ignore[arg-type]
        assert count == visible(table, name), (table, name, "select")
        for kind, (statement, allowed) in WRITES[table].items():
            before = _snapshot(owner_conn, table, seed)
            if name in allowed:
                with app_conn.transaction(force_rollback=True):
                    _bind(app_conn, actor)
                    assert app_conn.execute(statement, params).rowcount >= 1, (table, name, kind)
                continue
            try:
                with app_conn.transaction():
                    _bind(app_conn, actor)
                    changed = app_conn.execute(statement, params).rowcount
                assert changed == 0, (table, name, kind)
            except psycopg.errors.Error:
                pass  # refused by a policy, a privilege or a trigger
            assert _snapshot(owner_conn, table, seed) == before, (table, name, kind)


# -- triggers --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "update invoices set total = 0, subtotal = 0, tax = 0 where id = %(closed)s",
        "update invoices set number = 999 where id = %(closed)s",
        "update invoices set status = 'draft' where id = %(closed)s",
        "update invoices set status = 'void', void_reason = 'x', total = 0, subtotal = 0, tax = 0"
        " where id = %(closed)s",
        "update invoices set status = 'void' where id = %(closed)s",
        "delete from invoices where id = %(closed)s",
        "update invoice_lines set amount = 0 where invoice_id = %(closed)s",
        "delete from invoice_lines where invoice_id = %(closed)s",
        "insert into invoice_lines (tenant_id, invoice_id, position, kind, description, amount)"
        " values (%(startup)s, %(closed)s, 9, 'FEE', 'x', 0)",
        "update invoice_counters set next_number = 1 where tenant_id = %(op)s",
        "delete from invoice_counters where tenant_id = %(op)s",
        "truncate invoice_lines",
    ],
)
def test_closed_invoice_is_immutable_even_for_the_owner(
    statement: str, seed: Seed, owner_conn: psycopg.Connection
) -> None:
    before = [_snapshot(owner_conn, t, seed) for t in ("invoices", "invoice_lines", "invoice_counters")]
    with pytest.raises(psycopg.errors.Error), owner_conn.transaction():
        owner_conn.execute(statement, _params(seed, ANONYMOUS))
    assert [_snapshot(owner_conn, t, seed) for t in ("invoices", "invoice_lines", "invoice_counters")] == before


def test_void_is_the_only_change_and_then_final(seed: Seed, owner_conn: psycopg.Connection) -> None:
    params = _params(seed, ANONYMOUS)
    with owner_conn.transaction():
        owner_conn.execute("update invoices set status = 'void', void_reason = 'typo' where id = %(closed)s", params)
    row = owner_conn.execute(
        "select status, void_reason, voided_at is not null, number from invoices where id = %(closed)s", params
    ).fetchone()
    assert row == ("void", "typo", True, 1)
    with pytest.raises(psycopg.errors.Error), owner_conn.transaction():
        owner_conn.execute("update invoices set void_reason = 'other' where id = %(closed)s", params)


def test_lines_must_sum_to_the_total_at_close(seed: Seed, owner_conn: psycopg.Connection) -> None:
    params = _params(seed, ANONYMOUS)

    def close_with_a_wrong_line() -> None:
        with owner_conn.transaction():
            owner_conn.execute(
                "insert into invoice_lines (tenant_id, invoice_id, position, kind, description,"
                " amount) values (%(startup)s, %(draft)s, 0, 'FEE', 'x', 5)",
                params,
            )
            owner_conn.execute("update invoices set status = 'closed' where id = %(draft)s", params)

    with pytest.raises(psycopg.errors.CheckViolation):
        close_with_a_wrong_line()
    counter = owner_conn.execute("select next_number from invoice_counters where tenant_id = %(op)s", params)
    assert counter.fetchone() == (2,)  # the refused close consumed no number
