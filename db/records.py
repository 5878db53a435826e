"""Rows as the layers above see them: frozen, typed, no SQLAlchemy objects."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from policies.principal import Role, TenantKind


@dataclass(frozen=True)
class TenantRecord:
    id: UUID
    slug: str
    name: str
    kind: TenantKind
    operator_id: UUID | None
    created_at: datetime

    def __post_init__(self) -> None:
        # Rows arrive as plain strings (`Record(**row._mapping)`); an unknown value fails here, not later.
        object.__setattr__(self, "kind", TenantKind(self.kind))


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
    role: Role
    created_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", Role(self.role))


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"
    EXPIRED = "expired"


class GrantStatus(enum.StrEnum):
    REQUESTED = "requested"
    ACTIVE = "active"
    REVOKED = "revoked"


@dataclass(frozen=True)
class InvitationRecord:
    tenant_id: UUID
    id: UUID
    email: str
    role: Role
    invited_by: UUID | None
    created_at: datetime
    expires_at: datetime
    status: InvitationStatus
    accepted_by: UUID | None
    responded_at: datetime | None

    def __post_init__(self) -> None:
        # Rows arrive as plain strings (`Record(**row._mapping)`); an unknown status fails here, not later.
        object.__setattr__(self, "status", InvitationStatus(self.status))
        object.__setattr__(self, "role", Role(self.role))


@dataclass(frozen=True)
class GrantRecord:
    tenant_id: UUID
    id: UUID
    vc_tenant_id: UUID
    requested_scopes: list[str]
    scopes: list[str]
    status: GrantStatus
    expires_at: datetime | None
    requested_by: UUID | None
    decided_by: UUID | None
    created_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", GrantStatus(self.status))


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
