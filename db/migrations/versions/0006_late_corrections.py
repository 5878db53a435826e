"""Late data for closed periods: cost imports record the requested mode and the periods re-homed as corrections.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute(policy_sql("0006_late_corrections.sql"))


def downgrade() -> None:
    op.execute("alter table cost_imports drop column if exists rehomed, drop column if exists late_data;")
