"""Cost report assemblies: a manifest and its parts, imported as jobs, published when complete

Revision ID: 0015
Revises: 0014
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    op.execute(policy_sql("0015_assemblies.sql"))


def downgrade() -> None:
    raise NotImplementedError("0015 is not reversible")
