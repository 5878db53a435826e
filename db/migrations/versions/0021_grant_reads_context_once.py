"""Grant reads resolve the acting user and tenant once per statement, not once per logged startup

Revision ID: 0021
Revises: 0020
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0021"
down_revision = "0020"


def upgrade() -> None:
    op.execute(policy_sql("0021_grant_reads_context_once.sql"))


def downgrade() -> None:
    raise NotImplementedError("0021 is not reversible")
