"""SQLAlchemy Core descriptions of the cap-table and fund tables (the DDL lives in migration 0002)."""

from __future__ import annotations

from sqlalchemy import ARRAY, BigInteger, Column, Date, DateTime, FetchedValue, Integer, Numeric, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

from db.tables import metadata

captable_objects = Table(
    "captable_objects",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Text, primary_key=True),
    Column("object_type", Text, nullable=False),
    Column("seq", BigInteger, server_default=FetchedValue(), nullable=False),
    Column("effective_date", Date),
    Column("payload", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=FetchedValue(), nullable=False),
    Column("created_by", Uuid, server_default=FetchedValue()),
)

stakeholder_links = Table(
    "stakeholder_links",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("stakeholder_id", Text, primary_key=True),
    Column("vc_tenant_id", Uuid, nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=FetchedValue(), nullable=False),
    Column("created_by", Uuid, server_default=FetchedValue()),
)

captable_snapshots = Table(
    "captable_snapshots",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("computed_at", DateTime(timezone=True), server_default=FetchedValue(), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("ledger_seq", BigInteger, nullable=False),
    Column("outstanding", Numeric, nullable=False),
    Column("fully_diluted", Numeric, nullable=False),
    Column("price_per_share", Numeric),
    Column("price_date", Date),
    Column("currency", Text),
    Column("positions", JSONB, nullable=False),
    Column("ownership_by_class", JSONB, nullable=False),
    Column("pools", JSONB, nullable=False),
)

captable_holdings = Table(
    "captable_holdings",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("vc_tenant_id", Uuid, primary_key=True),
    Column("stakeholder_ids", ARRAY(Text), nullable=False),
    Column("ownership", Numeric, nullable=False),
    Column("fully_diluted_ownership", Numeric, nullable=False),
    Column("invested", Numeric, nullable=False),
    Column("holding_value", Numeric),
    Column("value_by_stakeholder", JSONB, nullable=False),
)

funds = Table(
    "funds",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=FetchedValue()),
    Column("name", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("vintage_year", Integer),
    Column("created_at", DateTime(timezone=True), server_default=FetchedValue(), nullable=False),
)

fund_commitments = Table(
    "fund_commitments",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=FetchedValue()),
    Column("fund_id", Uuid, nullable=False),
    Column("limited_partner", Text, nullable=False),
    Column("amount", Numeric, nullable=False),
    Column("committed_on", Date, nullable=False),
)

capital_calls = Table(
    "capital_calls",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=FetchedValue()),
    Column("fund_id", Uuid, nullable=False),
    Column("call_date", Date, nullable=False),
    Column("amount", Numeric, nullable=False),
)

distributions = Table(
    "distributions",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=FetchedValue()),
    Column("fund_id", Uuid, nullable=False),
    Column("distribution_date", Date, nullable=False),
    Column("amount", Numeric, nullable=False),
)

fund_investments = Table(
    "fund_investments",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=FetchedValue()),
    Column("fund_id", Uuid, nullable=False),
    Column("company_tenant_id", Uuid, nullable=False),
    Column("stakeholder_id", Text, nullable=False),
    Column("allocation", Numeric, nullable=False),
)
