"""Rows as the layers above see them: frozen, typed, no SQLAlchemy objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class TenantRecord:
    id: UUID
    slug: str
    name: str
    kind: str
    operator_id: UUID | None
    created_at: datetime


@dataclass(frozen=True)
class UserRecord:
    id: UUID
    email: str
    display_name: str
    created_at: datetime


@dataclass(frozen=True)
class MembershipRecord:
    tenant_id: UUID
    user_id: UUID
    role: str
    created_at: datetime


@dataclass(frozen=True)
class InvitationRecord:
    tenant_id: UUID
    id: UUID
    email: str
    role: str
    invited_by: UUID | None
    created_at: datetime
    expires_at: datetime
    status: str
    accepted_by: UUID | None
    responded_at: datetime | None


@dataclass(frozen=True)
class GrantRecord:
    tenant_id: UUID
    id: UUID
    vc_tenant_id: UUID
    requested_scopes: list[str]
    scopes: list[str]
    status: str
    expires_at: datetime | None
    requested_by: UUID | None
    decided_by: UUID | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AuditEventRecord:
    tenant_id: UUID
    id: int
    occurred_at: datetime
    actor_user_id: UUID | None
    actor_tenant_id: UUID | None
    action: str
    subject_type: str
    subject_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class CompanyProfileRecord:
    tenant_id: UUID
    legal_name: str
    country: str | None
    founded_on: date | None
    sector: str | None
    stage: str | None
    website: str | None
    updated_at: datetime
