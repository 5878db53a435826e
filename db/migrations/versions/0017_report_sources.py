"""Report sources an operator registers for scheduled sync from a bucket

Revision ID: 0017
Revises: 0016
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0017"
down_revision = "0016"


def upgrade() -> None:
    op.execute(policy_sql("0017_report_sources.sql"))


def downgrade() -> None:
    raise NotImplementedError("0017 is not reversible")
