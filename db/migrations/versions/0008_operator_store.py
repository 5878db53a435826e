"""One cost store per operator: account ids unique per operator, operator-keyed imports and locks

Revision ID: 0008
Revises: 0007
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.execute(policy_sql("0008_operator_store.sql"))


def downgrade() -> None:
    raise NotImplementedError("0008 is not reversible")
