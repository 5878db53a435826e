"""Onboarding: just-in-time users, tenants created by their first owner or by an operator

Revision ID: 0014
Revises: 0013
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    op.execute(policy_sql("0014_onboarding.sql"))


def downgrade() -> None:
    raise NotImplementedError("0014 is not reversible")
