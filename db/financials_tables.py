"""SQLAlchemy Core descriptions of the management-information tables (DDL: policies/sql/0003_financials.sql)."""

from __future__ import annotations

from sqlalchemy import ARRAY, CHAR, Boolean, Column, Date, DateTime, FetchedValue, Integer, Numeric, Table, Text, Uuid

from db.tables import metadata

financial_reports = Table(
    "financial_reports",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=FetchedValue()),
    Column("statement", Text, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("currency", CHAR(3), nullable=False),
    Column("status", Text, nullable=False),
    Column("finalized_at", DateTime(timezone=True)),
    Column("finalized_by", Uuid),
    Column("created_by", Uuid),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

financial_report_lines = Table(
    "financial_report_lines",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("report_id", Uuid, primary_key=True),
    Column("line_key", Text, primary_key=True),
    Column("label", Text, nullable=False),
    Column("amount", Numeric(20, 4, asdecimal=True), nullable=False),
    Column("position", Integer, nullable=False),
    Column("final", Boolean, nullable=False),
)

kpi_definitions = Table(
    "kpi_definitions",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=FetchedValue()),
    Column("key", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("currency", CHAR(3)),
    Column("direction", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

kpi_reports = Table(
    "kpi_reports",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=FetchedValue()),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("status", Text, nullable=False),
    Column("finalized_at", DateTime(timezone=True)),
    Column("finalized_by", Uuid),
    Column("created_by", Uuid),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

kpi_values = Table(
    "kpi_values",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("report_id", Uuid, primary_key=True),
    Column("definition_id", Uuid, primary_key=True),
    Column("value", Numeric(24, 6, asdecimal=True), nullable=False),
    Column("final", Boolean, nullable=False),
)

kpi_requests = Table(
    "kpi_requests",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=FetchedValue()),
    Column("vc_tenant_id", Uuid, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("kpi_keys", ARRAY(Text), nullable=False),
    Column("message", Text, nullable=False),
    Column("due_on", Date),
    Column("status", Text, nullable=False),
    Column("response", Text, nullable=False),
    Column("kpi_report_id", Uuid),
    Column("requested_by", Uuid),
    Column("responded_by", Uuid),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
