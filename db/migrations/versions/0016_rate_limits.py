"""Per-tenant request rate limits shared by every API process

Revision ID: 0016
Revises: 0015
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    op.execute(policy_sql("0016_rate_limits.sql"))


def downgrade() -> None:
    raise NotImplementedError("0016 is not reversible")
