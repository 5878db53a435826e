"""SQLAlchemy Core descriptions of the tables (the DDL itself lives in the migrations)."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    Date,
    DateTime,
    FetchedValue,
    MetaData,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

tenants = Table(
    "tenants",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=FetchedValue()),
    Column("slug", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("operator_id", Uuid),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=FetchedValue()),
    Column("email", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # The identity provider's (iss or '', sub); a trigger fills subject for users created without a token.
    Column("issuer", Text, nullable=False, server_default=FetchedValue()),
    Column("subject", Text, nullable=False, server_default=FetchedValue()),
)

memberships = Table(
    "memberships",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("user_id", Uuid, primary_key=True),
    Column("role", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

portfolio_grants = Table(
    "portfolio_grants",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=FetchedValue()),
    Column("vc_tenant_id", Uuid, nullable=False),
    Column("requested_scopes", ARRAY(Text), nullable=False),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("status", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("requested_by", Uuid),
    Column("decided_by", Uuid),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", BigInteger, primary_key=True, server_default=FetchedValue()),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("actor_user_id", Uuid),
    Column("actor_tenant_id", Uuid),
    Column("action", Text, nullable=False),
    Column("subject_type", Text, nullable=False),
    Column("subject_id", Text),
    Column("details", JSONB, nullable=False),
)

company_profiles = Table(
    "company_profiles",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("legal_name", Text, nullable=False),
    Column("country", Text),
    Column("founded_on", Date),
    Column("sector", Text),
    Column("stage", Text),
    Column("website", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

invitations = Table(
    "invitations",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("id", Uuid, primary_key=True, server_default=FetchedValue()),
    Column("email", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("invited_by", Uuid),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("accepted_by", Uuid),
    Column("responded_at", DateTime(timezone=True)),
)
