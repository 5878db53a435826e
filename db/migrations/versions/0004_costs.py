"""Costs: cloud accounts and their assignment history, import manifests, period locks; the job queue.

Revision ID: 0004
Revises: 0002

procrastinate's schema is applied from a frozen copy of the SQL that procrastinate 3.10 ships
(``SchemaManager.get_schema()``, kept in db/third_party/procrastinate_3_10.sql; a test compares the two):
upgrading procrastinate means adding a revision with its migration files, never editing this one.
"""

from alembic import op

from db.third_party import third_party_sql
from policies.sql_files import policy_sql

revision = "0004"
down_revision = "0002"


def upgrade() -> None:
    op.execute(third_party_sql("procrastinate_3_10.sql"))
    op.execute(policy_sql("0004_costs.sql"))


def downgrade() -> None:
    op.execute(
        "drop table if exists cost_period_locks, cost_imports, cloud_account_assignments, cloud_accounts cascade;"
        "drop function if exists app.cloud_account_assigned();"
        "drop table if exists procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs,"
        " procrastinate_workers cascade;"
        "drop type if exists procrastinate_job_to_defer_v1, procrastinate_job_event_type,"
        " procrastinate_job_status cascade;"
    )
