"""Cap table and funds: the append-only ledger, stakeholder links, derived snapshots and holdings, VC funds.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute(policy_sql("0002_captable.sql"))


def downgrade() -> None:
    op.execute(
        "drop table if exists fund_investments, distributions, capital_calls, fund_commitments, funds,"
        " captable_holdings, captable_snapshots, stakeholder_links, captable_objects cascade;"
        "drop function if exists app.reject_ledger_change(), app.check_fund_owner();"
    )
