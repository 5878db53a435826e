"""Value rules enforced by the database: positive quantities, bounded precision and magnitude

Revision ID: 0009
Revises: 0008
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.execute(policy_sql("0009_value_rules.sql"))


def downgrade() -> None:
    raise NotImplementedError("0009 is not reversible")
