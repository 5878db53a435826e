"""Billing: pricing plans and versions, customer billing settings, custom items, exchange rates, cost
categories, invoices and their lines (immutable once closed), gapless invoice numbers, close-all runs.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from policies.sql_files import policy_sql

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute(policy_sql("0005_billing.sql"))


def downgrade() -> None:
    op.execute(
        "drop table if exists invoice_lines, invoices, custom_line_items, customer_billing, invoice_runs,"
        " invoice_counters, billing_issuers, cost_categories, exchange_rates, pricing_plan_versions,"
        " pricing_plans cascade;"
        "drop function if exists app.invoice_guard(), app.invoice_changed(), app.invoice_line_guard(),"
        " app.reject_truncate(), app.invoice_counter_guard(), app.check_billed_by_operator();"
    )
