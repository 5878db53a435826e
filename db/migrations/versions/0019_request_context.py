"""One round trip opens a request: provision, resolve the principal and bind the context

Revision ID: 0019
Revises: 0018
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0019"
down_revision = "0018"


def upgrade() -> None:
    op.execute(policy_sql("0019_request_context.sql"))


def downgrade() -> None:
    raise NotImplementedError("0019 is not reversible")
