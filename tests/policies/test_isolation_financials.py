"""The isolation matrix of the management-information tables, in SQL as the app role.

For every new table, every actor of the world fixture (and anonymous) and every statement kind, exactly the
allowed rows are visible or changed, and no VC ever sees a draft. An allowed write is checked by the rows its
RETURNING names and then rolled back; a refused one is committed if it did not fail, and the owner's snapshot
of the table before and after must be equal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import psycopg.errors
import pytest

from tests.plugins.financials import KEYS, FinancialsWorld, seed_financials
from tests.plugins.world import ACTORS, ANONYMOUS, Actor, World

pytestmark = pytest.mark.via_pgbouncer  # every test again through PgBouncer (tests/plugins/pgbouncer.py)

WRITERS = {"startup_owner", "startup_admin", "startup_member"}
STAFF = WRITERS | {"startup_viewer"}
FINANCIAL_READERS = {"vc_active", "vc_lacking_scope"}  # active, unexpired grants with `financials`
ACTOR_NAMES = (*ACTORS, "anonymous")
REPORT_TABLES = ("financial_reports", "financial_report_lines", "kpi_reports", "kpi_values")
DENIED = "42501"  # insufficient_privilege: a WITH CHECK refusal or a missing privilege
IMMUTABLE = "23001"  # restrict_violation: the trigger guarding final reports

Expected = set[str] | str  # the labels of the rows seen or changed, or the SQLSTATE of the refusal


def _is_final(label: str) -> bool:
    return ".final" in label


def visible(table: str, actor: str, seed: FinancialsWorld) -> set[str]:
    labels = seed.labels(table)
    if table == "kpi_requests":
        if actor in STAFF:
            return labels
        return {actor} & labels
    if actor in STAFF:
        return {label for label in labels if label.startswith("S.")}
    if actor == "other_startup_owner":
        return {label for label in labels if label.startswith("O.")}
    if actor in FINANCIAL_READERS:
        own = {label for label in labels if label.startswith("S.")}
        return own if table == "kpi_definitions" else {label for label in own if _is_final(label)}
    return set()


def _own_drafts(table: str, actor: str, seed: FinancialsWorld) -> set[str]:
    prefix = "S." if actor in WRITERS else "O." if actor == "other_startup_owner" else None
    if prefix is None:
        return set()
    return {label for label in seed.labels(table) if label.startswith(prefix) and not _is_final(label)}


# Statements --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    name: str
    sql: Callable[[FinancialsWorld, Actor], tuple[str, tuple[Any, ...]]]
    expected: Callable[[str, FinancialsWorld], Expected]


def _returning(table: str) -> str:
    return " returning " + ", ".join(KEYS[table])


def _insert_op(
    table: str, columns: str, values: Callable[[FinancialsWorld, Actor], tuple[Any, ...]], allowed: set[str]
) -> Op:
    def sql(seed: FinancialsWorld, actor: Actor) -> tuple[str, tuple[Any, ...]]:
        params = values(seed, actor)
        marks = ", ".join(["%s"] * len(params))
        return f"insert into {table} ({columns}) values ({marks})" + _returning(table), params

    return Op("insert", sql, lambda actor, seed: {"new"} if actor in allowed else DENIED)


def _startup(seed: FinancialsWorld) -> Any:
    return seed.world.tenants["startup"]


def _asking_vc(seed: FinancialsWorld, actor: Actor) -> Any:
    """The VC a request claims to come from: the actor's own tenant if it is a VC, else vc_active (forged)."""
    if actor.name.startswith("vc_"):
        return actor.tenant_id
    return seed.world.tenants["vc_active"]


INSERTS: dict[str, Op] = {
    "financial_reports": _insert_op(
        "financial_reports",
        "tenant_id, statement, period_start, period_end, currency",
        lambda seed, actor: (_startup(seed), "cash_flow", "2030-01-01", "2030-01-31", "JPY"),
        WRITERS,
    ),
    "financial_report_lines": _insert_op(
        "financial_report_lines",
        "tenant_id, report_id, line_key, amount",
        lambda seed, actor: (_startup(seed), seed.ids["S.fin.draft"], "new_line", "1"),
        WRITERS,
    ),
    "kpi_definitions": _insert_op(
        "kpi_definitions",
        "tenant_id, key, name, unit",
        lambda seed, actor: (_startup(seed), "customers_new", "New customers", "count"),
        WRITERS,
    ),
    "kpi_reports": _insert_op(
        "kpi_reports",
        "tenant_id, period_start, period_end",
        lambda seed, actor: (_startup(seed), "2030-01-01", "2030-01-31"),
        WRITERS,
    ),
    "kpi_values": _insert_op(
        "kpi_values",
        "tenant_id, report_id, definition_id, value",
        lambda seed, actor: (_startup(seed), seed.ids["S.kpi.draft"], seed.ids["S.def.customers"], "5"),
        WRITERS,
    ),
    "kpi_requests": _insert_op(
        "kpi_requests",
        "tenant_id, vc_tenant_id, period_start, period_end, kpi_keys",
        lambda seed, actor: (_startup(seed), _asking_vc(seed, actor), "2024-02-01", "2024-02-28", ["arr"]),
        FINANCIAL_READERS,
    ),
}

# (SET clause, WHERE clause selecting drafts, WHERE clause selecting finals) per table.
EDITS: dict[str, tuple[str, str, str | None]] = {
    "financial_reports": ("currency = currency", "status = 'draft'", "status = 'final'"),
    "financial_report_lines": ("label = label || ''", "not final", "final"),
    "kpi_definitions": ("name = name", "true", None),
    "kpi_reports": ("period_end = period_end", "status = 'draft'", "status = 'final'"),
    "kpi_values": ("value = value", "not final", "final"),
}


def _edit_ops(table: str) -> list[Op]:
    set_clause, drafts, finals = EDITS[table]
    deletable = "key = 'customers'" if table == "kpi_definitions" else drafts

    def update_drafts(actor: str, seed: FinancialsWorld) -> Expected:
        if table == "kpi_definitions":
            return visible(table, actor, seed) if actor in WRITERS | {"other_startup_owner"} else set()
        return _own_drafts(table, actor, seed)

    def delete_drafts(actor: str, seed: FinancialsWorld) -> Expected:
        if table == "kpi_definitions":
            return {"S.customers"} if actor in WRITERS else set()
        return _own_drafts(table, actor, seed)

    def touch_finals(actor: str, seed: FinancialsWorld) -> Expected:
        return IMMUTABLE if actor in WRITERS | {"other_startup_owner"} else set()

    ops = [
        Op(
            "update drafts",
            lambda s, a: (f"update {table} set {set_clause} where {drafts}" + _returning(table), ()),
            update_drafts,
        ),
        Op(
            "delete drafts",
            lambda s, a: (f"delete from {table} where {deletable}" + _returning(table), ()),
            delete_drafts,
        ),
    ]
    if finals is not None:
        ops += [
            Op(
                "update finals",
                lambda s, a: (f"update {table} set {set_clause} where {finals}" + _returning(table), ()),
                touch_finals,
            ),
            Op(
                "delete finals",
                lambda s, a: (f"delete from {table} where {finals}" + _returning(table), ()),
                touch_finals,
            ),
        ]
    return ops


def _request_ops() -> list[Op]:
    def answer(seed: FinancialsWorld, actor: Actor) -> tuple[str, tuple[Any, ...]]:
        status = "cancelled" if actor.name.startswith("vc_") else "declined"
        return "update kpi_requests set status = %s" + _returning("kpi_requests"), (status,)

    def answered(actor: str, seed: FinancialsWorld) -> Expected:
        if actor in WRITERS:
            return seed.labels("kpi_requests")
        if actor in FINANCIAL_READERS | {"vc_revoked"}:  # a VC cancels its own request, grant or not
            return {actor}
        return set()

    def forged(seed: FinancialsWorld, actor: Actor) -> tuple[str, tuple[Any, ...]]:
        other = "vc_lacking_scope" if actor.name == "vc_active" else "vc_active"
        return (
            "insert into kpi_requests (tenant_id, vc_tenant_id, period_start, period_end, kpi_keys)"
            " values (%s, %s, '2024-02-01', '2024-02-28', '{arr}')",  # no RETURNING: it would hide the row
            (_startup(seed), seed.world.tenants[other]),
        )

    return [
        Op("insert in another VC's name", forged, lambda actor, seed: DENIED),
        Op("update", answer, answered),
        Op(
            "delete",
            lambda s, a: ("delete from kpi_requests" + _returning("kpi_requests"), ()),
            lambda actor, seed: DENIED,
        ),  # nobody deletes a request: no privilege at all
    ]


def _select_op(table: str) -> Op:
    return Op(
        "select",
        lambda s, a: (f"select {', '.join(KEYS[table])} from {table}", ()),
        lambda actor, seed: visible(table, actor, seed),
    )


def operations(table: str) -> list[Op]:
    edits = _request_ops() if table == "kpi_requests" else _edit_ops(table)
    return [_select_op(table), INSERTS[table], *edits]


# Running a statement as an actor ----------------------------------------------------------------------


def _snapshot(owner: psycopg.Connection, table: str) -> list[tuple[Any, ...]]:
    return sorted(owner.execute(f"select * from {table} order by {', '.join(KEYS[table])}").fetchall(), key=repr)


def _run(app: psycopg.Connection, actor: Actor, sql: str, params: tuple[Any, ...], keep: bool) -> Any:
    """Rows returned, or the SQLSTATE of the error. Committed only if `keep`."""
    try:
        with app.transaction(force_rollback=not keep):
            if actor.user_id is not None:
                app.execute(
                    "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
                    (str(actor.user_id), str(actor.tenant_id) if actor.tenant_id else ""),
                )
            cursor = app.execute(sql, params)
            return cursor.fetchall() if cursor.description else [("rows changed", cursor.rowcount)]
    except psycopg.Error as error:
        return error.sqlstate


def _actor(world: World, name: str) -> Actor:
    return ANONYMOUS if name == "anonymous" else world.actor(name)


@pytest.mark.parametrize("actor_name", ACTOR_NAMES)
def test_each_actor_sees_and_changes_exactly_the_allowed_rows(
    actor_name: str, world: World, owner_conn: psycopg.Connection, app_conn: psycopg.Connection
) -> None:
    seed = seed_financials(owner_conn, world)
    actor = _actor(world, actor_name)
    failures = []
    for table in KEYS:
        for op in operations(table):
            expected = op.expected(actor_name, seed)
            sql, params = op.sql(seed, actor)
            before = _snapshot(owner_conn, table)
            allowed_write = op.name != "select" and isinstance(expected, set) and bool(expected)
            outcome = _run(app_conn, actor, sql, params, keep=not allowed_write)
            if isinstance(outcome, list):
                labels = {seed.label(table, tuple(row)) for row in outcome}
                outcome = {"new" if op.name == "insert" and label.startswith("unknown") else label for label in labels}
            if outcome != expected:
                failures.append(f"{table} {op.name}: expected {expected!r}, got {outcome!r}")
            if op.name != "select" and _snapshot(owner_conn, table) != before:
                failures.append(f"{table} {op.name}: the table changed behind a refusal or a rolled-back write")
    assert failures == []


def test_no_vc_ever_sees_a_draft(world: World, owner_conn: psycopg.Connection, app_conn: psycopg.Connection) -> None:
    seed = seed_financials(owner_conn, world)
    for name in ("vc_active", "vc_lacking_scope", "vc_requested", "vc_revoked", "vc_expired"):
        for table in REPORT_TABLES:
            rows = _run(app_conn, world.actor(name), f"select {', '.join(KEYS[table])} from {table}", (), keep=False)
            assert not [seed.label(table, tuple(r)) for r in rows if not _is_final(seed.label(table, tuple(r)))]


def test_every_new_table_is_under_forced_rls(owner_conn: psycopg.Connection) -> None:
    rows = owner_conn.execute(
        "select relname from pg_class where relname = any(%s) and relrowsecurity and relforcerowsecurity",
        (list(KEYS),),
    ).fetchall()
    assert sorted(r[0] for r in rows) == sorted(KEYS)
