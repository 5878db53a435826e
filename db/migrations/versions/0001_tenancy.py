"""Tenancy core: tenants, users, memberships, grants, audit events, company profiles, their policies.

Revision ID: 0001
Revises:
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.execute(policy_sql("0001_tenancy.sql"))


def downgrade() -> None:
    op.execute(
        "drop table if exists company_profiles, audit_events, portfolio_grants, memberships, users, tenants cascade;"
        "drop schema if exists app cascade;"
    )
