"""Join the two lines of history (management information from 0001; cost and billing from 0002) into one head.

Revision ID: 0007
Revises: 0003, 0006
"""

revision = "0007"
down_revision = ("0003", "0006")


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
