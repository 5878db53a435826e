"""The triggers behind the policies: final reports, their lines and values never change, whoever asks (the
owner role included); drafts stay editable; `final` on lines and values follows the report."""

from __future__ import annotations

import psycopg
import psycopg.errors
import pytest

from tests.plugins.financials import FinancialsWorld
from tests.plugins.world import acting_as


def test_a_final_report_rejects_any_change_even_from_the_owner(
    financials_world: FinancialsWorld, owner_conn: psycopg.Connection
) -> None:
    report = financials_world.ids["S.fin.final"]

    with pytest.raises(psycopg.errors.RestrictViolation, match="is final and cannot be changed") as raised:
        owner_conn.execute("update financial_reports set currency = 'USD' where id = %s", (report,))
    assert f"financial report {report} (2024-01-01 to 2024-01-28)" in str(raised.value)
    with pytest.raises(psycopg.errors.RestrictViolation, match="is final and cannot be deleted"):
        owner_conn.execute("delete from financial_reports where id = %s", (report,))
    with pytest.raises(psycopg.errors.RestrictViolation, match="is final"):
        owner_conn.execute("update financial_reports set status = 'draft' where id = %s", (report,))


def test_lines_and_values_of_a_final_report_are_fixed(
    financials_world: FinancialsWorld, owner_conn: psycopg.Connection
) -> None:
    ids = financials_world.ids
    tenant = financials_world.world.tenants["startup"]
    statements = [
        ("update financial_report_lines set amount = 0 where report_id = %s", r"a line of final report .* changed"),
        ("delete from financial_report_lines where report_id = %s", "a line of final report .* deleted"),
        ("update kpi_values set value = 0 where report_id = %s", "a value of final report .* changed"),
        ("delete from kpi_values where report_id = %s", "a value of final report .* deleted"),
    ]
    for sql, message in statements:
        report = ids["S.fin.final"] if "line" in sql else ids["S.kpi.final"]
        with pytest.raises(psycopg.errors.RestrictViolation, match=message):
            owner_conn.execute(sql, (report,))
    with pytest.raises(psycopg.errors.RestrictViolation, match=r"a line of final report .* added"):
        owner_conn.execute(
            "insert into financial_report_lines (tenant_id, report_id, line_key, amount) values (%s, %s, 'x', 1)",
            (tenant, ids["S.fin.final"]),
        )
    finals = owner_conn.execute(
        "select bool_and(final) from financial_report_lines where report_id = %s", (ids["S.fin.final"],)
    ).fetchone()
    assert finals == (True,)


def test_drafts_stay_editable_and_deletable(financials_world: FinancialsWorld, owner_conn: psycopg.Connection) -> None:
    draft = financials_world.ids["S.fin.draft"]

    owner_conn.execute("update financial_report_lines set amount = 1 where report_id = %s", (draft,))
    owner_conn.execute("delete from financial_reports where id = %s", (draft,))

    left = owner_conn.execute("select count(*) from financial_report_lines where report_id = %s", (draft,)).fetchone()
    assert left == (0,)


def test_finalizing_marks_the_lines_final_and_stamps_who_and_when(
    financials_world: FinancialsWorld, app_conn: psycopg.Connection
) -> None:
    owner = financials_world.world.actor("startup_member")
    draft = financials_world.ids["S.fin.draft"]
    with acting_as(app_conn, owner):
        row = app_conn.execute(
            "update financial_reports set status = 'final' where id = %s returning finalized_by, finalized_at", (draft,)
        ).fetchone()
        lines = app_conn.execute(
            "select bool_and(final) from financial_report_lines where report_id = %s", (draft,)
        ).fetchone()
    assert row is not None
    assert row[0] == owner.user_id
    assert row[1] is not None
    assert lines == (True,)


def test_the_api_role_cannot_mark_a_draft_line_final(
    financials_world: FinancialsWorld, app_conn: psycopg.Connection
) -> None:
    with (
        acting_as(app_conn, financials_world.world.actor("startup_owner")),
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        app_conn.execute(
            "update financial_report_lines set final = true where report_id = %s",
            (financials_world.ids["S.fin.draft"],),
        )


def test_a_kpi_definition_used_by_a_final_report_keeps_its_meaning(
    financials_world: FinancialsWorld, owner_conn: psycopg.Connection
) -> None:
    arr = financials_world.ids["S.def.arr"]

    with pytest.raises(psycopg.errors.RestrictViolation, match="KPI arr is used by a final report"):
        owner_conn.execute("update kpi_definitions set currency = 'USD' where id = %s", (arr,))
    owner_conn.execute("update kpi_definitions set name = 'Annual recurring revenue' where id = %s", (arr,))


def test_an_answered_kpi_request_is_fixed(financials_world: FinancialsWorld, app_conn: psycopg.Connection) -> None:
    world = financials_world.world
    request = financials_world.ids["request.vc_active"]
    with app_conn.transaction(force_rollback=True):
        app_conn.execute(
            "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
            (str(world.actor("vc_active").user_id), str(world.tenants["vc_active"])),
        )
        with pytest.raises(psycopg.errors.CheckViolation, match="only the startup answers"), app_conn.transaction():
            app_conn.execute("update kpi_requests set status = 'declined' where id = %s", (request,))
        app_conn.execute("update kpi_requests set status = 'cancelled' where id = %s", (request,))
        with pytest.raises(psycopg.errors.CheckViolation, match="is cancelled already"):
            app_conn.execute("update kpi_requests set status = 'cancelled' where id = %s", (request,))
