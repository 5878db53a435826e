"""SQLAlchemy Core descriptions of the billing tables (the DDL lives in migration 0005)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, FetchedValue, Integer, Numeric, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

from db.tables import metadata

_DEFAULT = FetchedValue()

pricing_plans = Table(
    "pricing_plans",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=_DEFAULT),
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=_DEFAULT, nullable=False),
)

pricing_plan_versions = Table(
    "pricing_plan_versions",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=_DEFAULT),
    Column("plan_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("valid_from", Text, nullable=False),
    Column("definition", JSONB, nullable=False),
    Column("created_by", Uuid),
    Column("created_at", DateTime(timezone=True), server_default=_DEFAULT, nullable=False),
)

exchange_rates = Table(
    "exchange_rates",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("period", Text, primary_key=True),
    Column("currency", Text, primary_key=True),
    Column("rate", Numeric, nullable=False),
    Column("updated_at", DateTime(timezone=True), server_default=_DEFAULT, nullable=False),
    Column("rate_date", Date),
    Column("source", Text, nullable=False, server_default=_DEFAULT),
)

tax_rates = Table(
    "tax_rates",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("category", Text, primary_key=True),
    Column("valid_from", Text, primary_key=True),
    Column("rate_percent", Numeric, nullable=False),
    Column("name", Text, nullable=False),
    Column("reduced", Boolean, nullable=False, server_default=_DEFAULT),
    Column("updated_at", DateTime(timezone=True), server_default=_DEFAULT, nullable=False),
)

cost_categories = Table(
    "cost_categories",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=_DEFAULT),
    Column("name", Text, nullable=False),
    Column("definition", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), server_default=_DEFAULT, nullable=False),
)

billing_issuers = Table(
    "billing_issuers",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("legal_name", Text, nullable=False),
    Column("address", Text, nullable=False, server_default=_DEFAULT),
    Column("tax_id", Text, nullable=False, server_default=_DEFAULT),
    Column("email", Text, nullable=False, server_default=_DEFAULT),
    Column("updated_at", DateTime(timezone=True), server_default=_DEFAULT, nullable=False),
    Column("registration_number", Text, nullable=False, server_default=_DEFAULT),
    Column("jurisdiction", Text, nullable=False, server_default=_DEFAULT),
    Column("payment_terms_days", Integer, nullable=False, server_default=_DEFAULT),
    Column("payment_details", Text, nullable=False, server_default=_DEFAULT),
    Column("provider_tax", Text, nullable=False, server_default=_DEFAULT),
    Column("tax_rounding", Text, nullable=False, server_default=_DEFAULT),
    Column("reverse_charge_note", Text, nullable=False, server_default=_DEFAULT),
)

invoice_counters = Table(
    "invoice_counters",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("next_number", BigInteger, nullable=False),
)

invoice_runs = Table(
    "invoice_runs",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=_DEFAULT),
    Column("period", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=_DEFAULT),
    Column("total", Integer, nullable=False, server_default=_DEFAULT),
    Column("closed", Integer, nullable=False, server_default=_DEFAULT),
    Column("already_closed", Integer, nullable=False, server_default=_DEFAULT),
    Column("no_data", Integer, nullable=False, server_default=_DEFAULT),
    Column("failed", Integer, nullable=False, server_default=_DEFAULT),
    Column("errors", JSONB, nullable=False, server_default=_DEFAULT),
    Column("job_id", BigInteger),
    Column("created_by", Uuid, nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=_DEFAULT, nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
)

customer_billing = Table(
    "customer_billing",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("operator_id", Uuid, nullable=False),
    Column("plan_id", Uuid),
    Column("currency", Text, nullable=False, server_default=_DEFAULT),
    Column("tax_rate_percent", Numeric, nullable=False, server_default=_DEFAULT),
    Column("tax_name", Text, nullable=False, server_default=_DEFAULT),
    Column("legal_name", Text, nullable=False, server_default=_DEFAULT),
    Column("address", Text, nullable=False, server_default=_DEFAULT),
    Column("email", Text, nullable=False, server_default=_DEFAULT),
    Column("updated_at", DateTime(timezone=True), server_default=_DEFAULT, nullable=False),
    Column("tax_id", Text, nullable=False, server_default=_DEFAULT),
    Column("tax_category", Text, nullable=False, server_default=_DEFAULT),
    Column("provider_tax", Text),
    Column("reverse_charge", Boolean, nullable=False, server_default=_DEFAULT),
    Column("payment_terms_days", Integer),
)

custom_line_items = Table(
    "custom_line_items",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=_DEFAULT),
    Column("operator_id", Uuid, nullable=False),
    Column("description", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("amount_type", Text, nullable=False),
    Column("value", Numeric, nullable=False),
    Column("period", Text, nullable=False),
    Column("recurrence", Text, nullable=False, server_default=_DEFAULT),
    Column("until", Text),
    Column("currency", Text),
    Column("created_by", Uuid),
    Column("created_at", DateTime(timezone=True), server_default=_DEFAULT, nullable=False),
    Column("tax_category", Text),
)

invoices = Table(
    "invoices",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=_DEFAULT),
    Column("operator_id", Uuid, nullable=False),
    Column("number", BigInteger),
    Column("kind", Text, nullable=False, server_default=_DEFAULT),
    Column("period", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=_DEFAULT),
    Column("currency", Text, nullable=False),
    Column("subtotal", Numeric, nullable=False),
    Column("tax", Numeric, nullable=False),
    Column("total", Numeric, nullable=False),
    Column("plan_version_id", Uuid),
    Column("idempotency_key", Text),
    Column("replaces_id", Uuid),
    Column("credit_note_for_id", Uuid),
    Column("bill_from", JSONB, nullable=False, server_default=_DEFAULT),
    Column("bill_to", JSONB, nullable=False, server_default=_DEFAULT),
    Column("void_reason", Text),
    Column("created_by", Uuid, server_default=_DEFAULT),
    Column("created_at", DateTime(timezone=True), server_default=_DEFAULT, nullable=False),
    Column("closed_at", DateTime(timezone=True), server_default=_DEFAULT),
    Column("closed_by", Uuid, server_default=_DEFAULT),
    Column("voided_at", DateTime(timezone=True), server_default=_DEFAULT),
    Column("voided_by", Uuid, server_default=_DEFAULT),
    Column("payment_terms_days", Integer),
    Column("due_date", Date, server_default=_DEFAULT),
    Column("details", JSONB, nullable=False, server_default=_DEFAULT),
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("invoice_id", Uuid, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("service", Text),
    Column("description", Text, nullable=False),
    Column("quantity", Numeric),
    Column("unit", Text),
    Column("amount", Numeric, nullable=False),
    Column("usage_type", Text),
    Column("tax_category", Text),
    Column("tax_rate_percent", Numeric),
)
