"""Who is asking: the authenticated user and, if chosen, the tenant they act for and their role there."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID


class TenantKind(StrEnum):
    STARTUP = "startup"
    VC = "vc"
    OPERATOR = "operator"


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"
    BILLING_ADMIN = "billing_admin"


ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})
WRITER_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER, Role.BILLING_ADMIN})


@dataclass(frozen=True)
class ActingTenant:
    id: UUID
    slug: str
    kind: TenantKind
    role: Role


@dataclass(frozen=True)
class Principal:
    user_id: UUID
    tenant: ActingTenant | None = None

    @property
    def is_admin(self) -> bool:
        return self.tenant is not None and self.tenant.role in ADMIN_ROLES
