"""The batched KPI read the portfolio uses: one statement for any number of companies, through the policies."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import event

from db.queries.kpis import latest_final_kpis
from db.session import Database, DbContext
from tests.plugins.financials import FinancialsWorld
from tests.plugins.world import Actor


@contextmanager
def _statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "set_config" not in statement:
            seen.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)


def _context(actor: Actor) -> DbContext:
    assert actor.user_id is not None
    return DbContext(user_id=actor.user_id, tenant_id=actor.tenant_id)


def _add_final_kpi_report(owner: psycopg.Connection, seed: FinancialsWorld, start: str, end: str, arr: str) -> None:
    tenant = seed.world.tenants["startup"]
    with owner.transaction():
        report = owner.execute(
            "insert into kpi_reports (tenant_id, period_start, period_end) values (%s, %s, %s) returning id",
            (tenant, start, end),
        ).fetchone()
        assert report is not None
        owner.execute(
            "insert into kpi_values (tenant_id, report_id, definition_id, value) values (%s, %s, %s, %s)",
            (tenant, report[0], seed.ids["S.def.arr"], arr),
        )
        owner.execute("update kpi_reports set status = 'final' where id = %s", (report[0],))


async def test_one_statement_for_many_companies_each_its_latest_final_report(
    database: Database, financials_world: FinancialsWorld, owner_conn: psycopg.Connection
) -> None:
    world = financials_world.world
    _add_final_kpi_report(owner_conn, financials_world, "2024-01-01", "2024-03-31", "3")  # the quarter
    _add_final_kpi_report(owner_conn, financials_world, "2024-03-01", "2024-03-31", "2")  # its last month
    startup, other, nowhere = world.tenants["startup"], world.tenants["other_startup"], uuid.uuid4()

    async with database.transaction(_context(world.actor("vc_active"))) as tx:
        with _statements(database) as statements:
            found = await latest_final_kpis(tx, [startup, other, nowhere])

    assert len(statements) == 1
    assert set(found) == {startup, other, nowhere}
    assert [(v.key, v.value, str(v.period_start)) for v in found[startup]] == [("arr", 2, "2024-03-01")]
    assert found[other] == []
    assert found[nowhere] == []


async def test_a_company_reads_its_own_latest_final_values_never_a_draft(
    database: Database, financials_world: FinancialsWorld
) -> None:
    world = financials_world.world
    startup = world.tenants["startup"]

    async with database.transaction(_context(world.actor("startup_viewer"))) as tx:
        found = await latest_final_kpis(tx, [startup])
    async with database.transaction(_context(world.actor("vc_revoked"))) as tx:
        revoked = await latest_final_kpis(tx, [startup])

    assert {v.report_id for v in found[startup]} == {financials_world.ids["S.kpi.final"]}
    assert [(v.key, v.unit, v.currency) for v in found[startup]] == [
        ("arr", "currency", "JPY"),
        ("headcount", "count", None),
    ]
    assert revoked == {startup: []}


async def test_no_company_no_statement(database: Database, financials_world: FinancialsWorld) -> None:
    async with database.transaction(_context(financials_world.world.actor("vc_active"))) as tx:
        with _statements(database) as statements:
            assert await latest_final_kpis(tx, []) == {}
    assert statements == []
