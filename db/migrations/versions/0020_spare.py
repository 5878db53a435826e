"""Spare revision (placeholder)

Revision ID: 0020
Revises: 0019
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0020"
down_revision = "0019"


def upgrade() -> None:
    op.execute(policy_sql("0020_spare.sql"))


def downgrade() -> None:
    raise NotImplementedError("0020 is not reversible")
