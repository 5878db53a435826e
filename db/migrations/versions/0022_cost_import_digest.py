"""A cost import's content identity is a BLAKE3 digest: cost_imports.sha256 becomes cost_imports.digest

Revision ID: 0022
Revises: 0021
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0022"
down_revision = "0021"


def upgrade() -> None:
    op.execute(policy_sql("0022_cost_import_digest.sql"))


def downgrade() -> None:
    raise NotImplementedError("0022 is not reversible")
