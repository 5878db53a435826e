"""One live assembly per delivery: concurrent requests for the same delivery no longer queue it twice

Revision ID: 0020
Revises: 0019
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0020"
down_revision = "0019"


def upgrade() -> None:
    op.execute(policy_sql("0020_one_live_assembly_per_delivery.sql"))


def downgrade() -> None:
    raise NotImplementedError("0020 is not reversible")
