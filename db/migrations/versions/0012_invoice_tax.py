"""Invoices a customer accepts: tax treatment, qualified-invoice details, payment terms

Revision ID: 0012
Revises: 0011
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.execute(policy_sql("0012_invoice_tax.sql"))


def downgrade() -> None:
    raise NotImplementedError("0012 is not reversible")
