"""Staged cap-table imports: drafts a founder inspects and corrects before committing

Revision ID: 0013
Revises: 0012
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    op.execute(policy_sql("0013_staged_imports.sql"))


def downgrade() -> None:
    raise NotImplementedError("0013 is not reversible")
