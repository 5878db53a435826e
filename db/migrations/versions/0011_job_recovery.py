"""Jobs survive crashes: what stalled-job recovery needs in the database

Revision ID: 0011
Revises: 0010
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.execute(policy_sql("0011_job_recovery.sql"))


def downgrade() -> None:
    raise NotImplementedError("0011 is not reversible")
