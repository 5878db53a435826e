"""SQLAlchemy Core descriptions of the staged-import drafts (the DDL lives in migration 0013)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, FetchedValue, Integer, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

from db.tables import metadata

staged_imports = Table(
    "staged_imports",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=FetchedValue()),
    Column("format", Text, nullable=False),
    Column("source_version", Text),
    Column("manifest", JSONB, nullable=False),
    Column("changes", JSONB, nullable=False),
    Column("status", Text, server_default=FetchedValue(), nullable=False),
    Column("created_by", Uuid, server_default=FetchedValue()),
    Column("created_at", DateTime(timezone=True), server_default=FetchedValue(), nullable=False),
    Column("expires_at", DateTime(timezone=True), server_default=FetchedValue(), nullable=False),
    Column("committed_at", DateTime(timezone=True)),
)

staged_import_items = Table(
    "staged_import_items",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("import_id", Uuid, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("file_type", Text, nullable=False),
    Column("filepath", Text, nullable=False),
    Column("item", JSONB, nullable=False),
    Column("dropped", Boolean, server_default=FetchedValue(), nullable=False),
    Column("edited", Boolean, server_default=FetchedValue(), nullable=False),
)
