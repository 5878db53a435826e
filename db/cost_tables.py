"""SQLAlchemy Core descriptions of the cost tables (the DDL lives in migrations 0004, 0006 and 0008)."""

from __future__ import annotations

from sqlalchemy import ARRAY, BigInteger, Boolean, Column, DateTime, FetchedValue, Integer, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

from db.tables import metadata

cloud_accounts = Table(
    "cloud_accounts",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("account_id", Text, primary_key=True),
    Column("payer_account_id", Text),
    Column("name", Text, nullable=False, server_default=FetchedValue()),
    Column("assigned_by", Uuid, server_default=FetchedValue()),
    Column("assigned_at", DateTime(timezone=True), server_default=FetchedValue(), nullable=False),
    Column("operator_id", Uuid, server_default=FetchedValue(), nullable=False),  # set by the trigger
)

cloud_account_assignments = Table(
    "cloud_account_assignments",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("account_id", Text, primary_key=True),
    Column("valid_from", DateTime(timezone=True), primary_key=True),
    Column("valid_to", DateTime(timezone=True)),
    Column("assigned_by", Uuid),
    Column("operator_id", Uuid, nullable=False),
    Column("is_first", Boolean, nullable=False),
)

cost_imports = Table(
    "cost_imports",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=FetchedValue()),
    Column("source_uri", Text, nullable=False),
    Column("source_name", Text, nullable=False, server_default=FetchedValue()),
    Column("digest", Text),  # the file's BLAKE3 (SHA-256 before revision 0022): cost/digests.py
    Column("format", Text),
    Column("currency", Text),
    Column("rows", BigInteger, nullable=False, server_default=FetchedValue()),
    Column("bytes", BigInteger, nullable=False, server_default=FetchedValue()),
    Column("bytes_total", BigInteger),
    Column("periods", ARRAY(Text), nullable=False, server_default=FetchedValue()),
    Column("accounts", ARRAY(Text), nullable=False, server_default=FetchedValue()),
    Column("status", Text, nullable=False, server_default=FetchedValue()),
    Column("error", JSONB(none_as_null=True)),
    Column("job_id", BigInteger),
    Column("created_by", Uuid, nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=FetchedValue(), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("late_data", Text, nullable=False, server_default=FetchedValue()),
    Column("rehomed", JSONB, nullable=False, server_default=FetchedValue()),
    Column("assembly_id", Uuid),  # a part of that assembly (migration 0015); null: a single-file import
    Column("part_index", Integer),
    Column("staged", JSONB(none_as_null=True)),
)

cost_assemblies = Table(
    "cost_assemblies",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=FetchedValue()),
    Column("manifest_uri", Text, nullable=False),
    Column("source_name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("report", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("assembly_key", Text, nullable=False),
    Column("parts_total", Integer, nullable=False),
    Column("status", Text, nullable=False, server_default=FetchedValue()),
    Column("late_data", Text, nullable=False, server_default=FetchedValue()),
    Column("error", JSONB(none_as_null=True)),
    Column("rehomed", JSONB, nullable=False, server_default=FetchedValue()),
    Column("catalog_version", BigInteger),
    Column("publish_job_id", BigInteger),
    Column("created_by", Uuid, nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=FetchedValue(), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
)

cost_period_locks = Table(
    "cost_period_locks",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("period", Text, primary_key=True),
    Column("locked_at", DateTime(timezone=True), server_default=FetchedValue(), nullable=False),
    Column("locked_by", Uuid),
    Column("reason", Text, nullable=False, server_default=FetchedValue()),
)

cost_report_sources = Table(
    "cost_report_sources",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=FetchedValue()),
    Column("location", Text, nullable=False),
    Column("source_name", Text, nullable=False),
    Column("format", Text, nullable=False),
    Column("late_data", Text, nullable=False, server_default=FetchedValue()),
    Column("created_by", Uuid, nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=FetchedValue(), nullable=False),
    Column("last_synced_at", DateTime(timezone=True)),
    Column("last_manifest_at", DateTime(timezone=True)),
    Column("last_error", Text),
)
