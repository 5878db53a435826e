"""Membership by consent: invitations the invitee accepts

Revision ID: 0010
Revises: 0009
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.execute(policy_sql("0010_invitations.sql"))


def downgrade() -> None:
    raise NotImplementedError("0010 is not reversible")
