"""Citus readiness: unique and foreign keys of distributed tables include tenant_id (operator_keys)

Revision ID: 0018
Revises: 0017
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0018"
down_revision = "0017"


def upgrade() -> None:
    op.execute(policy_sql("0018_citus_keys.sql"))


def downgrade() -> None:
    raise NotImplementedError("0018 is not reversible")
