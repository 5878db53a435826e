"""Management information: financial statements, KPI definitions, reports and values, KPI requests.

Revision ID: 0003
Revises: 0001
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0003"
down_revision = "0001"


def upgrade() -> None:
    op.execute(policy_sql("0003_financials.sql"))


def downgrade() -> None:
    op.execute(
        "drop table if exists kpi_requests, kpi_values, kpi_reports, kpi_definitions, financial_report_lines,"
        " financial_reports cascade;"
        "drop function if exists app.guard_report(), app.guard_report_item(), app.report_finalized(),"
        " app.guard_kpi_definition(), app.kpi_request_changed();"
    )
